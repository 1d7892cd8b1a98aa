-- The transactional outbox: work a state change makes (transcode after an upload completes, blob
-- deletion after a video is deleted), written in the same single-shard transaction as the change,
-- so a crash or a Redis error between the database and the job stream loses nothing. The API
-- relays a row to the stream right after its commit and deletes it; the worker's relay sends rows
-- left behind (older than a few seconds). One row per (video, kind): a repeat is the same intent.
CREATE TABLE IF NOT EXISTS job_outbox (
  channel_id BIGINT UNSIGNED NOT NULL,
  video_id   BIGINT UNSIGNED NOT NULL,
  kind       VARCHAR(32)     NOT NULL,
  created_at DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (channel_id, video_id, kind),
  KEY created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;
