# Image for `yakuba serve` (used by docker-compose.yml). Builds the browser client in a node stage.
FROM node:20-bookworm-slim AS web
WORKDIR /src/clients/web
COPY clients/web/package.json clients/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY clients/web/ ./
COPY assets/ /src/assets/
RUN npm run build

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY server/ server/
COPY world/ world/
COPY gis/ gis/
COPY assets/ assets/
# gcc and g++ only for the build: they compile gis/gmlfast/ (the fast
# CityGML reader), then go; libstdc++ stays (the runtime the reader links).
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libc6-dev \
    && pip install --no-cache-dir . \
    && apt-get purge -y gcc g++ libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY --from=web /src/clients/web/dist/ /app/clients/web/dist/
ENV YAKUBA_WEB_ROOT=/app/clients/web/dist
EXPOSE 8080
USER nobody
CMD ["yakuba", "serve", "--host", "0.0.0.0", "--port", "8080", "--data", "/data"]
