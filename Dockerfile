# Faust worker image. Kafka itself runs as its own service (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Fixed uid so the /data volume's ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home app \
    && mkdir -p /data \
    && chown app:app /data

WORKDIR /src
COPY . .
RUN pip install . && rm -rf /src/build

# RocksDB tables and Faust state live here; declared after chown so a fresh
# named volume inherits the app user's ownership.
ENV STORE_DIR=/data \
    WEB_PORT=6066
VOLUME ["/data"]
WORKDIR /data

USER app
EXPOSE 6066
CMD ["faust", "-A", "app", "worker", "-l", "info"]
