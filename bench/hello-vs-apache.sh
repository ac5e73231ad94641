#!/usr/bin/env bash
# Peer benchmark: Hello World through Apache 2.4 + mod_wsgi (embedded mode, event MPM)
# versus wsgi-bin, both embedding the same Debian Python (/usr/bin/python3).
#
#   bench/hello-vs-apache.sh                       # wsgi-bin from source (node_modules/.bin/bun)
#   WSGI_BIN=./wsgi-bin bench/hello-vs-apache.sh   # a built binary instead
#
# Knobs (env): ROUNDS=3 DURATION=5s CONNECTIONS=32 WSGI_BIN_ARGS="--threads 16"
#   DAEMON=1: both in daemon mode, mod_wsgi's recommended setup: WSGIDaemonProcess hello processes=2
#   threads=15 + WSGIProcessGroup hello in Apache, --daemon-process hello,processes=2,threads=15 and
#   process-group=hello in wsgi-bin (mod_wsgi's default threads=, a process per core).
# Prints a table and writes raw numbers to bench/results/hello-vs-apache-<timestamp>.json.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SCRIPT="$ROOT/examples/hello.wsgi"
PYTHON=/usr/bin/python3   # the Python Debian's mod_wsgi is built against
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5s} CONNECTIONS=${CONNECTIONS:-32}
MODULES=/usr/lib/apache2/modules

# --- prerequisites (Debian packages; apache2's postinst cannot start a service without systemd,
# and we never use /etc/apache2 anyway) ---
need=()
[[ -x /usr/sbin/apache2 ]] || need+=(apache2)
[[ -f $MODULES/mod_wsgi.so ]] || need+=(libapache2-mod-wsgi-py3)
command -v wrk >/dev/null || need+=(wrk)
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- cleanup: stop whatever we started, whatever happens ---
TMP=$(mktemp -d /tmp/hello-vs-apache.XXXXXX)
chmod 755 "$TMP"   # Apache children run as www-data when we are root
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # run the EXIT trap on Ctrl-C too

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APACHE_PORT=$(free_port)
WSGI_BIN_PORT=$(free_port)

# --- Apache: the peer suite's configuration (bench/peers.ts), a private ServerRoot in $TMP ---
BUN="$ROOT/node_modules/.bin/bun"
read -r apache_conf apache_log < <("$BUN" "$ROOT/bench/apache-config.ts" "$SCRIPT" "$TMP")
DAEMON_GROUP="hello,processes=2,threads=15"
if [[ ${DAEMON:-} == 1 ]]; then
  sed -i "s|^WSGIScriptAlias |WSGIDaemonProcess ${DAEMON_GROUP//,/ }\nWSGIProcessGroup hello\nWSGIScriptAlias |" "$apache_conf"
  grep -q '^WSGIProcessGroup hello' "$apache_conf" || { echo "could not put Apache in daemon mode" >&2; exit 1; }
fi
/usr/sbin/apache2 -f "$apache_conf" -c "Listen 127.0.0.1:$APACHE_PORT" -DFOREGROUND &
pids+=($!)

# --- wsgi-bin on the same script and the same Python ---
if [[ -n ${WSGI_BIN:-} ]]; then
  wsgi_bin=("$WSGI_BIN") wsgi_label="$WSGI_BIN"
else
  wsgi_bin=("$BUN" "$ROOT/src/main.ts") wsgi_label="bun $("$BUN" --version) src/main.ts"
fi
# shellcheck disable=SC2206  # WSGI_BIN_ARGS is meant to be word-split
daemon_args=() route_option="" mode=""
[[ ${DAEMON:-} == 1 ]] && daemon_args=(--daemon-process "$DAEMON_GROUP") route_option=",process-group=hello" mode="-daemon"
"${wsgi_bin[@]}" --alias "/hello=$SCRIPT$route_option" "${daemon_args[@]}" --host 127.0.0.1 --port "$WSGI_BIN_PORT" \
  --python "$PYTHON" --log-level warn ${WSGI_BIN_ARGS:-} &
pids+=($!)

wait_ready() {   # $1 name, $2 url, $3 pid: until it answers Hello World! (30 s) or dies
  for _ in $(seq 300); do
    kill -0 "$3" 2>/dev/null || break
    [[ $(curl -fsS "$2" 2>/dev/null) == "Hello World!" ]] && return 0
    sleep 0.1
  done
  echo "$1 did not serve Hello World! at $2" >&2
  [[ $1 == apache && -f $apache_log ]] && cat "$apache_log" >&2
  exit 1
}
declare -A url=([apache]="http://127.0.0.1:$APACHE_PORT/" [wsgi-bin]="http://127.0.0.1:$WSGI_BIN_PORT/hello")
wait_ready apache "${url[apache]}" "${pids[0]}"
wait_ready wsgi-bin "${url[wsgi-bin]}" "${pids[1]}"

# wrk's "99%  1.23ms" -> milliseconds
to_ms() { awk '{ v=$1+0; if ($1 ~ /us$/) v/=1000; else if ($1 ~ /ms$/) ; else if ($1 ~ /m$/) v*=60000; else if ($1 ~ /s$/) v*=1000; printf "%.3f", v }' <<<"$1"; }

run_wrk() {   # $1 name, $2 duration -> "rps p99ms errors" on stdout
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$2" --latency "${url[$1]}")
  grep -E "Non-2xx|Socket errors" <<<"$out" | sed "s/^ */  $1: /" >&2 || true
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  # errors = socket errors (connect/read/write/timeout) + non-2xx responses
  errors=$(awk '/Non-2xx|Socket errors/ { gsub(/[^0-9]+/, " "); for (i = 1; i <= NF; i++) n += $i } END { print n+0 }' <<<"$out")
  echo "$rps $p99 $errors"
}

echo "warming up..." >&2
run_wrk apache 2s >/dev/null
run_wrk wsgi-bin 2s >/dev/null

declare -A rps=() p99=() errs=()
for round in $(seq "$ROUNDS"); do
  for name in apache wsgi-bin; do   # alternate so drift (thermal, noisy neighbours) hits both
    read -r r p e < <(run_wrk "$name" "$DURATION")
    echo "round $round $name: $r req/s, p99 ${p}ms$( ((e)) && echo ", errors: $e")" >&2
    rps[$name]+="$r " p99[$name]+="$p " errs[$name]+="$e "
  done
done

# --- summary table + JSON (python3 is on hand: it is the Python under test) ---
mkdir -p "$ROOT/bench/results"
json="$ROOT/bench/results/hello-vs-apache$mode-$(date -u +%Y%m%dT%H%M%SZ).json"
"$PYTHON" - "$json" <<EOF
import json, statistics, sys, platform
raw = {
  "apache": {"rps": [$(tr ' ' ',' <<<"${rps[apache]}")], "p99_ms": [$(tr ' ' ',' <<<"${p99[apache]}")], "errors": [$(tr ' ' ',' <<<"${errs[apache]}")]},
  "wsgi-bin": {"rps": [$(tr ' ' ',' <<<"${rps[wsgi-bin]}")], "p99_ms": [$(tr ' ' ',' <<<"${p99[wsgi-bin]}")], "errors": [$(tr ' ' ',' <<<"${errs[wsgi-bin]}")]},
}
for r in raw.values():
    r["rps_median"] = statistics.median(r["rps"])
    r["p99_ms_median"] = statistics.median(r["p99_ms"])
ratio = raw["wsgi-bin"]["rps_median"] / raw["apache"]["rps_median"]
print(f"{'server':<10} {'req/s (median)':>15} {'p99 ms (median)':>16}")
for name, r in raw.items():
    print(f"{name:<10} {r['rps_median']:>15.0f} {r['p99_ms_median']:>16.2f}")
print(f"ratio wsgi-bin/Apache req/s: {ratio:.2f}")
doc = {
  "wrk": "wrk -t1 -c$CONNECTIONS -d$DURATION --latency", "rounds": $ROUNDS,
  "apache": "$(/usr/sbin/apache2 -v | head -1 | sed 's/.*: //') event MPM, 2 x 25 threads, mod_wsgi $([[ -n $mode ]] && echo "daemon mode (WSGIDaemonProcess ${DAEMON_GROUP//,/ })" || echo embedded)",
  "wsgi_bin": "$wsgi_label ${WSGI_BIN_ARGS:-}".strip(),
  "python": platform.python_version(), "nproc": $(nproc),
  "servers": raw, "ratio_rps": ratio,
}
json.dump(doc, open(sys.argv[1], "w"), indent=2)
EOF
echo "raw numbers: ${json#"$ROOT"/}"
