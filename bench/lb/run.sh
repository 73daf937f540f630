#!/usr/bin/env bash
# Load balancer benchmark: wrk against (a) nginx serving a small static file directly,
# (b) nginx as a reverse proxy (upstream keepalive 64), (c) haproxy (http-reuse always),
# (d) gantry lb, all in front of that same nginx back end, on 127.0.0.1 only.
# Rounds are interleaved (a b c d, a b c d, ...) so background load hits every peer alike.
# Reports requests/s, p99 latency and CPU microseconds per request of the proxy process
# (utime+stime deltas from /proc/<pid>/stat, all processes of the proxy, divided by requests).
#
#   bench/lb/run.sh                      # 3 rounds of 10 s each
#   ROUNDS=1 DURATION=5 bench/lb/run.sh  # quicker
# Env: GANTRY_BIN (default build/gantry), NGINX_WORKERS, HAPROXY_THREADS, GANTRY_WORKERS,
#      BACKEND_WORKERS (default 1), CONNECTIONS (64), ROUNDS (3), DURATION (10).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GANTRY_BIN="${GANTRY_BIN:-$root/build/gantry}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
BACKEND_WORKERS="${BACKEND_WORKERS:-1}"
NGINX_WORKERS="${NGINX_WORKERS:-1}"
HAPROXY_THREADS="${HAPROXY_THREADS:-1}"
GANTRY_WORKERS="${GANTRY_WORKERS:-1}"
for tool in nginx haproxy wrk; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
done
[ -x "$GANTRY_BIN" ] || { echo "run.sh: build gantry first ($GANTRY_BIN)" >&2; exit 2; }

tmp="$(mktemp -d /tmp/gantry-lb-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=$(free_port) NGINX=$(free_port) HAPROXY=$(free_port) GANTRY=$(free_port)
mkdir -p "$tmp/www" "$tmp/backend" "$tmp/proxy"
chmod 755 "$tmp" "$tmp/www"  # nginx workers may run as another user
head -c 612 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"

nginx_common() {  # $1 dir, $2 workers
  cat <<CONF
worker_processes $2;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; multi_accept on; }
CONF
}
{ nginx_common "$tmp/backend" "$BACKEND_WORKERS"; cat <<CONF
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/backend; proxy_temp_path $tmp/backend; fastcgi_temp_path $tmp/backend;
  uwsgi_temp_path $tmp/backend; scgi_temp_path $tmp/backend;
  server { listen 127.0.0.1:$BACKEND; root $tmp/www; }
}
CONF
} >"$tmp/backend/nginx.conf"
{ nginx_common "$tmp/proxy" "$NGINX_WORKERS"; cat <<CONF
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/proxy; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/proxy;
  uwsgi_temp_path $tmp/proxy; scgi_temp_path $tmp/proxy;
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
} >"$tmp/proxy/nginx.conf"
cat >"$tmp/haproxy.cfg" <<CONF
global
  nbthread $HAPROXY_THREADS
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:$HAPROXY
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND
CONF
cat >"$tmp/lb.yml" <<CONF
workers: $GANTRY_WORKERS
limits: {upstream_keepalive: 64}
listeners:
  - listen: 127.0.0.1:$GANTRY
    rules:
      - path: /
        forward:
          - {target_group: web, weight: 100}
target_groups:
  web:
    targets: [127.0.0.1:$BACKEND]
    health_check: {path: /, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200-399"}
CONF

nginx -c "$tmp/backend/nginx.conf" -e "$tmp/backend/error.log" & pids+=($!); backend_pid=$!
nginx -c "$tmp/proxy/nginx.conf" -e "$tmp/proxy/error.log" & pids+=($!); nginx_pid=$!
haproxy -q -f "$tmp/haproxy.cfg" & pids+=($!); haproxy_pid=$!
"$GANTRY_BIN" lb -c "$tmp/lb.yml" 2>"$tmp/gantry.log" & pids+=($!); gantry_pid=$!
for port in $BACKEND $NGINX $HAPROXY $GANTRY; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/index.html" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/index.html" || { echo "run.sh: port $port not serving" >&2; cat "$tmp"/*.log "$tmp"/*/error.log >&2 2>/dev/null; exit 1; }
done

# CPU ticks of a process and its children threads/processes (nginx master + workers).
cpu_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $total
}
hz=$(getconf CLK_TCK)
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/,"",v); print v/1000 } else if (v ~ /ms$/) { sub(/ms/,"",v); print v } else { sub(/s/,"",v); print v*1000 } }'; }

results="$tmp/results"
: >"$results"
run_one() {  # name port pid
  local name=$1 port=$2 pid=$3 before after out rps p99 reqs cpu
  before=$(cpu_ticks "$pid")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/index.html")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr '\n' ' ')
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  printf '%-22s %10s req/s  p99 %7s ms  cpu %6s us/req %s\n' "$name" "$rps" "$p99" "$cpu" "$errs"
  echo "$name $rps $p99 $cpu" >>"$results"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); rounds=$ROUNDS duration=${DURATION}s connections=$CONNECTIONS"
for r in $(seq "$ROUNDS"); do
  echo "-- round $r"
  run_one "a-direct-nginx" "$BACKEND" "$backend_pid"
  run_one "b-nginx-proxy(w=$NGINX_WORKERS)" "$NGINX" "$nginx_pid"
  run_one "c-haproxy(t=$HAPROXY_THREADS)" "$HAPROXY" "$haproxy_pid"
  run_one "d-gantry(w=$GANTRY_WORKERS)" "$GANTRY" "$gantry_pid"
done
echo "-- median over rounds (each column separately)"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for name in $(awk '{print $1}' "$results" | sort -u); do
  rps=$(awk -v n="$name" '$1 == n {print $2}' "$results" | median)
  p99=$(awk -v n="$name" '$1 == n {print $3}' "$results" | median)
  cpu=$(awk -v n="$name" '$1 == n {print $4}' "$results" | median)
  printf '%-22s %10.0f req/s  p99 %7.2f ms  cpu %6.1f us/req\n' "$name" "$rps" "$p99" "$cpu"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
