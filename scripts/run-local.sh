#!/usr/bin/env bash
# `make run` / `make stop`: a local broker, one worker, sample traffic.
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
  echo "sample traffic (same seed each time: a second run is all duplicates) ..."
  .venv/bin/faust -A app loadgen orders --count 2000 --seed 1 --oracle "$DATA/orders-oracle.json"
  .venv/bin/faust -A app loadgen clicks --count 5000 --advertisers 50 --rounds 2 --seed 1 \
    --oracle "$DATA/clicks-oracle.json"
  # Replayed, lifecycle events are mostly duplicates (their event_ids are kept with their orders).
  .venv/bin/faust -A app loadgen lifecycle --count 3000 --seed 1 --oracle "$DATA/lifecycle-oracle.json"
  cat <<MSG

Ready. Dashboard: $URL/dashboard
  (live: top categories, the first advertisers' budgets and status, a user's order
   notifications by user id, order lifecycle counts)
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
Check against the oracles:
  .venv/bin/faust -A app verify --oracle $DATA/orders-oracle.json --url $URL
  .venv/bin/faust -A app verify --oracle $DATA/lifecycle-oracle.json --url $URL
Stop everything: make stop
MSG
}

down() {
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
  worker_alive && echo "worker: running (pid $(cat $WORKER_PID)) $URL" || echo "worker: stopped"
  $PY -m infra.kafka status --data-dir "$DATA/kafka" || true
}

"${1:-up}"
