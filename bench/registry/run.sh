#!/usr/bin/env bash
# Registry benchmark: the same image (>= 100 MB of random data in several layers, built with
# umoci) pushed cold and pulled back with skopeo, against `gantry registry` and Debian's
# docker-registry, interleaved, on 127.0.0.1. Each round starts both servers on empty data
# directories. Reports median seconds, MB/s and each server's peak RSS (VmHWM).
#
#   bench/registry/run.sh [ROUNDS] [LAYERS] [MB_PER_LAYER]     (defaults 3 4 30)
set -euo pipefail
rounds=${1:-3}
layers=${2:-4}
mb=${3:-30}
here=$(cd "$(dirname "$0")" && pwd)
GANTRY_BIN=$(realpath "${GANTRY_BIN:-$here/../../build/gantry}")  # the script cd's into a temp dir
for tool in skopeo umoci docker-registry python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.d/registry.list)"; exit 1; }
done
work=$(mktemp -d /tmp/gantry-bench-registry.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

echo "building the image: $layers layers x $mb MB of random data"
umoci init --layout img >/dev/null
umoci new --image img:bench >/dev/null
for i in $(seq "$layers"); do
  mkdir -p "layer$i/data$i"
  head -c "$((mb * 1024 * 1024))" /dev/urandom >"layer$i/data$i/blob.bin"
  umoci insert --image img:bench "layer$i/data$i" "/data$i" >/dev/null
  rm -rf "layer$i"
done
bytes=$(python3 - <<'PY'
import json
idx = json.load(open("img/index.json"))
d = idx["manifests"][0]["digest"].split(":")[1]
m = json.load(open("img/blobs/sha256/" + d))
print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])
PY
)
echo "image: $((bytes / 1024 / 1024)) MB in $layers layers"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() {  # $1 = gantry|docker-registry, $2 = data dir; sets pid and port
  local port
  port=$(free_port)
  if [ "$1" = gantry ]; then
    "$GANTRY_BIN" registry --data "$2" --listen "127.0.0.1:$port" >"$2.log" 2>&1 &
  else
    mkdir -p "$2"
    cat >"$2.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
    docker-registry serve "$2.yml" >"$2.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.05
  done
  server_port=$port
}

declare -A push_times pull_times rss
for round in $(seq "$rounds"); do
  order="gantry docker-registry"
  [ $((round % 2)) = 0 ] && order="docker-registry gantry"
  for server in $order; do
    start_server "$server" "$work/data-$server-$round"
    c0=$(cpu_ticks "$pid")
    t0=$(now)
    skopeo --insecure-policy copy -q --dest-tls-verify=false oci:img:bench "docker://127.0.0.1:$server_port/bench/app:r$round"
    t1=$(now)
    c1=$(cpu_ticks "$pid")
    skopeo --insecure-policy copy -q --src-tls-verify=false "docker://127.0.0.1:$server_port/bench/app:r$round" "oci:pull-$server-$round:bench"
    t2=$(now)
    c2=$(cpu_ticks "$pid")
    peak=$(hwm_kb "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    rm -rf "pull-$server-$round" "$work/data-$server-$round"
    push_times[$server]+="$(echo "$t1 - $t0" | bc) "
    pull_times[$server]+="$(echo "$t2 - $t1" | bc) "
    rss[$server]+="$peak "
    printf 'round %d %-16s push %6.2fs (server CPU %4.2fs)  pull %6.2fs (server CPU %4.2fs)  peak RSS %6.1f MB\n' \
      "$round" "$server" "$(echo "$t1 - $t0" | bc)" "$(echo "($c1 - $c0) / 100" | bc -l)" "$(echo "$t2 - $t1" | bc)" \
      "$(echo "($c2 - $c1) / 100" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
printf '%-16s %10s %10s %10s %10s %12s\n' server push_s push_MB/s pull_s pull_MB/s peak_RSS_MB
for server in gantry docker-registry; do
  ps=$(echo "${push_times[$server]}" | median)
  pl=$(echo "${pull_times[$server]}" | median)
  r=$(echo "${rss[$server]}" | tr ' ' '\n' | grep -v '^$' | sort -g | tail -1)
  printf '%-16s %10.2f %10.1f %10.2f %10.1f %12.1f\n' "$server" "$ps" "$(echo "$bytes / 1048576 / $ps" | bc -l)" \
    "$pl" "$(echo "$bytes / 1048576 / $pl" | bc -l)" "$(echo "$r / 1024" | bc -l)"
done
