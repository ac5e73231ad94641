#!/usr/bin/env bash
# What a client guessing passwords does to everyone else: wrk sends a wrong password for a bcrypt
# (cost 5) user to /private as fast as it can, while a second wrk measures /hello (no authentication)
# on the same server. The password checks run on a thread of their own, so /hello should hardly notice.
#
#   WSGI_BIN=./wsgi-bin bash bench/password-flood.sh     # a built binary (default: from source)
#
# Knobs (env): ROUNDS=2 GUESSERS=8 CONNECTIONS=4 DURATION=6s PORT=18090
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-2} GUESSERS=${GUESSERS:-8} CONNECTIONS=${CONNECTIONS:-4} DURATION=${DURATION:-6s} PORT=${PORT:-18090}
command -v wrk >/dev/null && command -v htpasswd >/dev/null || { echo "needs wrk and htpasswd (apt-get install wrk apache2-utils)" >&2; exit 1; }
if [[ -n ${WSGI_BIN:-} ]]; then SERVER=("$WSGI_BIN"); else SERVER=("$ROOT/node_modules/.bin/bun" "$ROOT/src/main.ts"); fi

DIR=$(mktemp -d)
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$DIR"' EXIT
htpasswd -cbB -C 5 "$DIR/users" alice secret 2>/dev/null
cat > "$DIR/site.conf" <<CONF
Listen 127.0.0.1:$PORT
WSGIScriptAlias /hello $ROOT/examples/hello.wsgi
WSGIScriptAlias /private $ROOT/examples/hello.wsgi
<Location /private>
    AuthType Basic
    AuthName "flood"
    AuthUserFile $DIR/users
    Require valid-user
</Location>
CONF
GUESS="Authorization: Basic $(printf alice:wrong | base64)"
DURATION_S=${DURATION%s}

for round in $(seq "$ROUNDS"); do
  "${SERVER[@]}" --config "$DIR/site.conf" --python /usr/bin/python3 --log-level warn >"$DIR/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/hello" && break; sleep 0.1; done
  quiet=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/hello")
  wrk -t1 -c"$GUESSERS" -d"$((DURATION_S + 3))s" -H "$GUESS" "http://127.0.0.1:$PORT/private" >"$DIR/guess.txt" &
  sleep 1.5
  flooded=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/hello")
  wait $!
  pick() { awk -v what="$2" '$1 == what { print $2 }' <<<"$1"; }
  printf 'round %s: /hello alone %s req/s (p50 %s, p99 %s); during the guessing %s req/s (p50 %s, p99 %s); guesses answered %s/s\n' "$round" \
    "$(pick "$quiet" Requests/sec:)" "$(pick "$quiet" 50%)" "$(pick "$quiet" 99%)" \
    "$(pick "$flooded" Requests/sec:)" "$(pick "$flooded" 50%)" "$(pick "$flooded" 99%)" "$(awk '$1 == "Requests/sec:" { print $2 }' "$DIR/guess.txt")"
  kill "$PID"; wait "$PID" 2>/dev/null || true
done
