# Faust worker image (also runs the order service). Kafka runs as its own service (docker-compose.yml).

# The budget handler's Rust kernel (native/), built as a wheel for CPython 3.11+.
FROM rust:1-slim-bookworm AS kernel
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /build \
    && /build/bin/pip install --no-cache-dir 'maturin>=1.7,<2'
COPY native /native
RUN /build/bin/maturin build --release --manifest-path /native/Cargo.toml --out /wheels

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
COPY --from=kernel /wheels /wheels
RUN pip install /wheels/*.whl . && rm -rf /src/build /wheels

# RocksDB tables and Faust state live here; declared after chown so a fresh
# named volume inherits the app user's ownership.
ENV STORE_DIR=/data \
    WEB_PORT=6066
VOLUME ["/data"]
WORKDIR /data

USER app
EXPOSE 6066
# The order service (`python -m shop`, SHOP_PORT), run from this image by docker-compose.yml.
EXPOSE 6070
CMD ["faust", "-A", "app", "worker", "-l", "info"]
