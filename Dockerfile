# The API and flusher image used by docker-compose.vitess.yml.
# The watch page's player, from npm at the version web/package-lock.json pins.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md requirements.lock ./
COPY api api
COPY sharding sharding
COPY loadtest loadtest
COPY capacity capacity
COPY web/watch.html web/
COPY --from=web /web/node_modules web/node_modules
ENV VIDSTORE_WEB_DIR=/app/web
# The versions make test ran with (requirements.lock), without the dev tools.
RUN pip install --no-cache-dir -c requirements.lock .
# The schema service (sharding.dba) drives vtctld with Vitess's own client.
COPY --from=vitess/lite:v24.0.3 /vt/bin/vtctldclient /usr/local/bin/vtctldclient
USER nobody
CMD ["granian", "--interface", "asgi", "--factory", "--host", "0.0.0.0", "--port", "8080", "api.app:create_app"]
