-- Keyspace `vidstore_idx`, sharded by video_id: the `video_lookup` vindex's table (video id ->
-- keyspace id of the video's row in `vidstore`), owned by Vitess. It grows like any sharded keyspace
-- (`make reshard KEYSPACE=vidstore_idx TO=-80,80-`). On plain MariaDB it exists but stays unused.

CREATE TABLE IF NOT EXISTS video_lookup (
  video_id    BIGINT UNSIGNED NOT NULL,
  keyspace_id VARBINARY(16)   NOT NULL,
  PRIMARY KEY (video_id)
) ENGINE=InnoDB;
