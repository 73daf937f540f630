# Sourced by e2e scripts: start_gantry_server DATA_DIR [LOG [ARGS...]] starts `gantry server` on a free
# loopback port in the background and sets SERVER (its pid) and URL (http://127.0.0.1:PORT),
# exporting GANTRY_URL; it fails with the log when the server does not come up.
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
