"""Jobs: the queue the worker reads (a Redis stream with leases) and the transactional outbox that
feeds it from the database changes that make work. Below `videos` and `processing`, which use it."""
