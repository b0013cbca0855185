#!/usr/bin/env bash
# `make run` / `make stop`: a local broker, one worker, PostgreSQL, Connect with Debezium, the order
# service, and sample traffic (orders through the order service; clicks straight to Kafka).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DATA=.data
PORT=${KAFKA_PORT:-9092}
export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$PORT}
export WEB_PORT=${WEB_PORT:-6066}
export STORE_DIR=${STORE_DIR:-$DATA/state}
URL="http://127.0.0.1:$WEB_PORT"
WORKER_PID=$DATA/worker.pid
# The order service's path (docs/outbox.md); 5433: Debian's own cluster may hold 5432.
PG_PORT=${PG_PORT:-5433}
CONNECT_PORT=${CONNECT_PORT:-8083}
export SHOP_PORT=${SHOP_PORT:-6070}
export SHOP_DATABASE_URL=${SHOP_DATABASE_URL:-postgresql://postgres@127.0.0.1:$PG_PORT/shop}
export SHOP_CONNECT_URL=${SHOP_CONNECT_URL:-http://127.0.0.1:$CONNECT_PORT}
SHOP_URL="http://127.0.0.1:$SHOP_PORT"
SHOP_PID=$DATA/shop.pid
shop_alive() { [[ -f $SHOP_PID ]] && kill -0 "$(cat $SHOP_PID)" 2>/dev/null; }

worker_alive() { [[ -f $WORKER_PID ]] && kill -0 "$(cat $WORKER_PID)" 2>/dev/null; }

up() {
  mkdir -p "$DATA"
  if ! $PY -m infra.kafka status --data-dir "$DATA/kafka" >/dev/null 2>&1; then
    echo "starting Kafka on $KAFKA_BOOTSTRAP_SERVERS ..."
    $PY -m infra.kafka start --data-dir "$DATA/kafka" --port "$PORT"
  fi
  if worker_alive; then
    echo "worker already running (pid $(cat $WORKER_PID))"
  else
    echo "starting worker (log: $DATA/worker.log) ..."
    setsid .venv/bin/faust -A app worker -l info >"$DATA/worker.log" 2>&1 &
    echo $! >"$WORKER_PID"
    for _ in $(seq 120); do
      curl -sf "$URL/stats" >/dev/null 2>&1 && break
      worker_alive || { tail -30 "$DATA/worker.log"; echo "worker died"; exit 1; }
      sleep 1
    done
  fi
  $PY -m infra.postgres start --data-dir "$DATA/postgres" --port "$PG_PORT" >/dev/null
  echo "PostgreSQL: $SHOP_DATABASE_URL; Kafka Connect on $SHOP_CONNECT_URL (log: $DATA/connect/connect.log) ..."
  $PY -m infra.connect start --data-dir "$DATA/connect" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS" --port "$CONNECT_PORT"
  $PY -m shop connector  # the tables, then Debezium's outbox connector, RUNNING
  if shop_alive; then
    echo "order service already running (pid $(cat $SHOP_PID))"
  else
    echo "starting the order service on $SHOP_URL (log: $DATA/shop.log) ..."
    setsid $PY -m shop >"$DATA/shop.log" 2>&1 &
    echo $! >"$SHOP_PID"
    for _ in $(seq 60); do
      curl -sf "$SHOP_URL/readyz" >/dev/null 2>&1 && break
      shop_alive || { tail -30 "$DATA/shop.log"; echo "order service died"; exit 1; }
      sleep 0.5
    done
  fi
  echo "sample traffic (same seed each time: a second run is answered from its Idempotency-Keys) ..."
  $PY -m shop.traffic --url "$SHOP_URL" --count 2000 --seed 1
  .venv/bin/faust -A app loadgen clicks --count 5000 --advertisers 50 --rounds 2 --seed 1 \
    --oracle "$DATA/clicks-oracle.json"
  cat <<MSG

Ready. Dashboard: $URL/dashboard
  (live: top categories, the first advertisers' budgets and status, a user's order
   notifications by user id, order lifecycle counts)
Order service: $SHOP_URL (orders -> PostgreSQL -> Debezium -> Kafka -> the worker)
  curl -XPOST $SHOP_URL/orders -H 'Idempotency-Key: k-1' -d '{"user_id": "u-1", "items": [{"sku": "s-1", "category": "books", "quantity": 2, "unit_price": 15000}]}'
  curl -XPOST $SHOP_URL/orders/<order_id>/pay      # then ship, deliver; or cancel
  curl $SHOP_URL/orders/<order_id>; curl $SHOP_URL/metrics | grep shop_
Try:
  curl $URL/categories
  curl $URL/categories/fashion
  curl "$URL/categories/fashion/hourly?from=2026-11-24T00:00:00%2B09:00&to=2026-11-25T23:00:00%2B09:00"
  curl $URL/advertisers/a-1/budget
  curl "$URL/advertisers/a-1/daily?from=2026-11-24&to=2026-11-26"
  curl $URL/lifecycle
  curl $URL/users/u-1/orders
  curl -N $URL/users/u-1/orders/stream    # server-sent events of u-1's committed state
  curl -N $URL/advertisers/a-1/budget/stream   # a-1's committed budget, status transitions
  curl -N $URL/categories/stream          # every category's committed totals
  curl $URL/stats
Check against the oracle (clicks; the direct loadgen stays for benches: faust -A app loadgen orders ...):
  .venv/bin/faust -A app verify --oracle $DATA/clicks-oracle.json --url $URL
Stop everything: make stop
MSG
}

down() {
  if shop_alive; then
    pid=$(cat $SHOP_PID)
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "order service stopped"
  fi
  rm -f "$SHOP_PID"
  if [[ -f $DATA/connect/connect.json ]]; then $PY -m infra.connect stop --data-dir "$DATA/connect"; fi
  if [[ -f $DATA/postgres/cluster.json ]]; then $PY -m infra.postgres stop --data-dir "$DATA/postgres"; fi
  if worker_alive; then
    pid=$(cat $WORKER_PID)
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "worker stopped"
  fi
  rm -f "$WORKER_PID"
  if [[ -f $DATA/kafka/cluster.json ]]; then $PY -m infra.kafka stop --data-dir "$DATA/kafka"; fi
}

status() {
  shop_alive && echo "order service: running (pid $(cat $SHOP_PID)) $SHOP_URL" || echo "order service: stopped"
  $PY -m infra.postgres status --data-dir "$DATA/postgres" || true
  $PY -m infra.connect status --data-dir "$DATA/connect" || true
  worker_alive && echo "worker: running (pid $(cat $WORKER_PID)) $URL" || echo "worker: stopped"
  $PY -m infra.kafka status --data-dir "$DATA/kafka" || true
}

"${1:-up}"
