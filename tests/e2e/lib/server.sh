# Sourced by e2e scripts: start_gantry_server DATA_DIR [LOG [ARGS...]] starts `gantry server` on a free
# loopback port in the background and sets SERVER (its pid) and URL (http://127.0.0.1:PORT),
# exporting GANTRY_URL; it fails with the log when the server does not come up.
E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)  # this folder: load.py and friends

start_gantry_server() {
  local data=$1 log=${2:-$1.log}
  : >"$log"
  "${GANTRY_BIN:?}" server --data "$data" --listen 127.0.0.1:0 "${@:3}" >"$log" 2>&1 &
  SERVER=$!
  URL=""
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/^gantry server listening on \(http[^ ]*\).*/\1/p' "$log")
    [[ -n "$URL" ]] && break
    sleep 0.1
  done
  [[ -n "$URL" ]] || { cat "$log"; echo "gantry server did not start"; return 1; }
  export GANTRY_URL=$URL
}

# json_pid FILE: the "pid" of a JSON record (the load balancer's pid file, instance records).
json_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$1"; }

# stop_deployed DATA_DIR: stops the load balancer and the instances a server recorded under
# DATA_DIR; they outlive the server on purpose, so tests stop them when they end.
stop_deployed() {
  local data=$1 f
  [[ -f "$data/deploy/lb/lb.pid" ]] && kill "$(json_pid "$data/deploy/lb/lb.pid")" 2>/dev/null
  for f in "$data"/deploy/instances/*.json; do
    [[ -f "$f" ]] && kill -TERM -- "-$(json_pid "$f")" 2>/dev/null
  done
  return 0
}
