#!/usr/bin/env bash
# The socket-owning spike against Apache + mod_wsgi embedded and wsgi-bin, hello.wsgi, in one run:
# wrk -t1 -c32 -d5s on each in turn, ROUNDS times. Needs what bench/hello-vs-apache.sh installs.
#   WSGI_BIN=./wsgi-bin bench/experiments/socket-workers/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
BUN=node_modules/.bin/bun SCRIPT=examples/hello.wsgi PYTHON=/usr/bin/python3
ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-"1 2"} WSGI_BIN=${WSGI_BIN:-./wsgi-bin}
TMP=$(mktemp -d /tmp/socket-workers.XXXXXX)
chmod 755 "$TMP"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A port
port[apache]=$(free_port)
read -r apache_conf _ < <("$BUN" bench/apache-config.ts "$ROOT/$SCRIPT" "$TMP")
/usr/sbin/apache2 -f "$apache_conf" -c "Listen 127.0.0.1:${port[apache]}" -DFOREGROUND & pids+=($!)
port[wsgi-bin]=$(free_port)
"$WSGI_BIN" --port "${port[wsgi-bin]}" --alias "/=$SCRIPT" --python "$PYTHON" >"$TMP/wsgi-bin.log" 2>&1 & pids+=($!)
servers=(apache wsgi-bin)
for n in $THREADS; do
  port[spike-$n]=$(free_port)
  "$BUN" bench/experiments/socket-workers/main.ts "${port[spike-$n]}" "$n" "$SCRIPT" "$PYTHON" >"$TMP/spike-$n.log" 2>&1 & pids+=($!)
  servers+=("spike-$n")
done
for server in "${servers[@]}"; do
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:${port[$server]}/" && break; sleep 0.1; done
done

for round in $(seq "$ROUNDS"); do
  for server in "${servers[@]}"; do
    rps=$(wrk -t1 -c32 -d5s "http://127.0.0.1:${port[$server]}/" | awk '/Requests\/sec/ {print $2}')
    echo "round $round $server $rps"
  done
done
