"""Prometheus metrics. The API process serves them at /metrics, the flusher on its own port."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Gauges read from Redis hold the same value in every process: with several, report the max.
BUFFERED_VIEWS = Gauge(
    "vidstore_buffered_views", "Views accepted and still in Redis (live + pending)", multiprocess_mode="max"
)
PENDING_BATCHES = Gauge(
    "vidstore_pending_flush_batches", "Claimed batches not yet committed everywhere", multiprocess_mode="max"
)
FLUSH_LAG = Gauge(
    "vidstore_flush_lag_seconds", "Age of the oldest view not yet in the database (0 when none)"
)

FLUSH_BATCHES = Counter(
    "vidstore_flush_shard_batches_total",
    "Per-shard batch transactions by result (applied, replayed = already committed, failed)",
    ["result"],
)
FLUSH_VIEWS = Counter("vidstore_flush_views_total", "Views moved from Redis into the database")
FLUSH_ROWS = Counter("vidstore_flush_rows_total", "Counter rows upserted")
FLUSH_STATEMENTS = Counter("vidstore_flush_statements_total", "SQL statements the flusher sent")
FLUSH_FAILURES = Counter("vidstore_flush_failures_total", "Failed shard transactions", ["shard"])
FLUSH_DURATION = Histogram("vidstore_flush_duration_seconds", "Time of one flush pass")
BATCH_VIEWS = Histogram(
    "vidstore_flush_batch_views", "Views in a claimed batch", buckets=(1, 10, 100, 1e3, 1e4, 1e5, 1e6)
)
BATCH_ROWS = Histogram(
    "vidstore_flush_batch_rows",
    "Distinct videos (counter rows) in a claimed batch",
    buckets=(1, 10, 100, 1e3, 1e4, 1e5),
)
