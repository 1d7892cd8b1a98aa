# The API and flusher image used by docker-compose.vitess.yml.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY api api
COPY sharding sharding
COPY loadtest loadtest
RUN pip install --no-cache-dir .
# The schema service (sharding.dba) drives vtctld with Vitess's own client.
COPY --from=vitess/lite:v24.0.3 /vt/bin/vtctldclient /usr/local/bin/vtctldclient
USER nobody
CMD ["granian", "--interface", "asgi", "--factory", "--host", "0.0.0.0", "--port", "8080", "api.app:create_app"]
