-- Keyspace `vidstore` (sharded). Every table carries the column its primary vindex hashes:
-- channel_id for channels, videos and the counters; user_id for users and subscriptions.
-- AUTO_INCREMENT serves plain MariaDB; under Vitess the sequences in `vidstore_lookup` fill the same
-- columns before vtgate routes the insert, so the shard-local counters are never used.

CREATE TABLE IF NOT EXISTS users (
  user_id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name         VARCHAR(100)    NOT NULL,
  api_key_hash BINARY(32)      NOT NULL COMMENT 'HMAC-SHA256(pepper, api key); the key is never stored',
  created_at   DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS channels (
  channel_id   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  owner_id     BIGINT UNSIGNED NOT NULL,
  title        VARCHAR(100)    NOT NULL,
  description  VARCHAR(5000)   NOT NULL DEFAULT '',
  created_at   DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at   DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (channel_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS videos (
  video_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  channel_id     BIGINT UNSIGNED NOT NULL,
  owner_id       BIGINT UNSIGNED NOT NULL COMMENT 'copied from the channel: ownership checks need no second shard',
  title          VARCHAR(100)    NOT NULL,
  description    VARCHAR(5000)   NOT NULL DEFAULT '',
  duration_ms    BIGINT UNSIGNED NULL,
  status         ENUM('draft','processing','ready','failed') NOT NULL DEFAULT 'draft',
  visibility     ENUM('public','unlisted','private')         NOT NULL DEFAULT 'private',
  failure_reason VARCHAR(500)    NULL,
  source_key     VARCHAR(300)    NULL COMMENT 'object-storage key of the upload',
  manifest_key   VARCHAR(300)    NULL COMMENT 'object-storage key of the HLS master playlist',
  thumbnail_key  VARCHAR(300)    NULL,
  created_at     DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (video_id),
  KEY channel_newest (channel_id, video_id),
  KEY channel_feed (channel_id, status, visibility, video_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Flushed view counts. Written only as `views = views + ?` by the flusher.
CREATE TABLE IF NOT EXISTS video_views (
  channel_id BIGINT UNSIGNED NOT NULL,
  video_id   BIGINT UNSIGNED NOT NULL,
  views      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (channel_id, video_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Which flush batches reached which channel: written in the same single-shard transaction as the
-- counters, so a replayed batch is recognised (duplicate key) and skipped.
CREATE TABLE IF NOT EXISTS flush_log (
  channel_id BIGINT UNSIGNED NOT NULL,
  batch_id   CHAR(32)        NOT NULL,
  applied_at DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (channel_id, batch_id),
  KEY applied_at (applied_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

CREATE TABLE IF NOT EXISTS subscriptions (
  user_id    BIGINT UNSIGNED NOT NULL,
  channel_id BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (user_id, channel_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
