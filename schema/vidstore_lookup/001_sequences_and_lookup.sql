-- Keyspace `vidstore_lookup` (unsharded). The application never names these tables in SQL:
-- Vitess uses the sequences to make ids and owns `video_lookup` (video id -> keyspace id).
-- On plain MariaDB they exist but stay unused.

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

CREATE TABLE IF NOT EXISTS video_lookup (
  video_id    BIGINT UNSIGNED NOT NULL,
  keyspace_id VARBINARY(16)   NOT NULL,
  PRIMARY KEY (video_id)
) ENGINE=InnoDB;
