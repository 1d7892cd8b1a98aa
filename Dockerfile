# The API and flusher image used by docker-compose.vitess.yml.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY api api
COPY sharding sharding
COPY loadtest loadtest
RUN pip install --no-cache-dir .
USER nobody
CMD ["granian", "--interface", "asgi", "--factory", "--host", "0.0.0.0", "--port", "8080", "api.app:create_app"]
