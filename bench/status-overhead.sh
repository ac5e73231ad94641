#!/usr/bin/env bash
# What --server-status's counting costs on the hot path: hello.wsgi with and without it, alternating
# rounds of wrk against one process. Reports requests/s and, steadier on a shared machine, the
# server's CPU time per request (utime + stime of the whole process from /proc, over the timed run).
#
#   bench/status-overhead.sh                       # wsgi-bin from source (node_modules/.bin/bun)
#   WSGI_BIN=./wsgi-bin bench/status-overhead.sh   # a built binary instead
#
# Knobs (env): ROUNDS=3 DURATION=5s CONNECTIONS=32
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5s} CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
if [[ -n ${WSGI_BIN:-} ]]; then CMD=("$WSGI_BIN"); else CMD=("$ROOT/node_modules/.bin/bun" "$ROOT/src/main.ts"); fi
PORT=${PORT:-18765}

run() { # label, extra args...
  local label=$1; shift
  "${CMD[@]}" --alias /hello="$ROOT/examples/hello.wsgi" --port "$PORT" --host 127.0.0.1 --log-level warn "$@" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/hello" >/dev/null && break; sleep 0.05; done
  wrk -t2 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT/hello" >/dev/null # warm-up
  local before after out rps requests
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT/hello")
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  # Clock ticks (1/100 s) to microseconds per request.
  echo "$label $rps $(awk -v t=$((after - before)) -v n="$requests" 'BEGIN { printf "%.1f", t * 10000 / n }')"
}

for round in $(seq "$ROUNDS"); do
  run "off" ; run "on" --server-status
done | awk '{ printf "%s: %s req/s, %s us CPU/request\n", $1, $2, $3; sum[$1] += $2; cpu[$1] += $3; n[$1]++ }
  END { for (k in sum) printf "mean %s: %.0f req/s, %.1f us CPU/request over %d rounds\n", k, sum[k] / n[k], cpu[k] / n[k], n[k] }'
