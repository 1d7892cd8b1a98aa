-- Keyspace `vidstore_lookup` (unsharded). The application never names these tables in SQL:
-- Vitess uses the sequences to make ids (sequences must live in an unsharded keyspace; the
-- `video_lookup` table moved to the sharded `vidstore_idx`). On plain MariaDB they stay unused.

CREATE TABLE IF NOT EXISTS user_seq (
  id BIGINT NOT NULL, next_id BIGINT NULL, cache BIGINT NULL, PRIMARY KEY (id)
) COMMENT 'vitess_sequence';
INSERT IGNORE INTO user_seq (id, next_id, cache) VALUES (0, 1, 1000);

CREATE TABLE IF NOT EXISTS channel_seq (
  id BIGINT NOT NULL, next_id BIGINT NULL, cache BIGINT NULL, PRIMARY KEY (id)
) COMMENT 'vitess_sequence';
INSERT IGNORE INTO channel_seq (id, next_id, cache) VALUES (0, 1, 1000);

CREATE TABLE IF NOT EXISTS video_seq (
  id BIGINT NOT NULL, next_id BIGINT NULL, cache BIGINT NULL, PRIMARY KEY (id)
) COMMENT 'vitess_sequence';
INSERT IGNORE INTO video_seq (id, next_id, cache) VALUES (0, 1, 1000);
