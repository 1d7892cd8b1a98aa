"""vidstore: the HTTP API (Litestar) and the domain services behind it."""
