#!/usr/bin/env bash
# Starts `gantry server` with its embedded defaults (SQLite, local blob store, registry,
# monitor, dashboard) in ./gantry-data, creates the example projects (learning-platform, the
# pipeline of docs/tutorial.md, and hello), pushes them so that their workflows run, starts
# a local webhook receiver for the deploy notifications, prints where to look, and prints
# the services' URLs once they are deployed. Ctrl-C stops the server and the receiver.
#   GANTRY_LISTEN   address:port (default 127.0.0.1:8080)
#   GANTRY_DATA     data directory (default ./gantry-data)
#   GANTRY_LB_LISTEN  the load balancer in front of deployed services (default 127.0.0.1:8081)
#   GANTRY_EXAMPLE  the main example (default examples/learning-platform)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
G="${GANTRY_BIN:-$root/build/gantry}"
listen="${GANTRY_LISTEN:-127.0.0.1:8080}"
lb_listen="${GANTRY_LB_LISTEN:-127.0.0.1:8081}"
data="${GANTRY_DATA:-$root/gantry-data}"
example="${GANTRY_EXAMPLE:-$root/examples/learning-platform}"
mkdir -p "$data"
# One admin token for this data directory, kept beside it so restarts find it.
token_file="$data/admin-token"
if [ ! -s "$token_file" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/gty_/' >"$token_file")
fi
GANTRY_ADMIN_TOKEN="$(cat "$token_file")"
export GANTRY_ADMIN_TOKEN
log="$data/server.log"
"$G" server --data "$data" --listen "$listen" --lb-listen "$lb_listen" >"$log" 2>&1 &
server=$!
receiver=""
watcher=""
stop_all() {
  for pid in $watcher $receiver $server; do kill "$pid" 2>/dev/null || true; done
  for pid in $watcher $receiver $server; do wait "$pid" 2>/dev/null || true; done
  # The server leaves the load balancer and the deployed instances serving (so that a
  # crash never interrupts traffic); this script started them, so it stops them too.
  "$G" down --data "$data" >/dev/null 2>&1 || true
}
trap stop_all INT TERM EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^gantry server listening on \(http[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "gantry server did not start"; exit 1; }
export GANTRY_URL="$url" GANTRY_TOKEN="$GANTRY_ADMIN_TOKEN"
# Push an example as a repository of its own (a copy, so this checkout is left alone).
push_example() {
  local dir="$1" name
  name="$(basename "$dir")"
  "$G" projects 2>/dev/null | grep -qw "$name" || "$G" project create "$name" >/dev/null 2>&1
  local work
  work="$(mktemp -d)"
  cp -r "$dir/." "$work/"
  find "$work" -name __pycache__ -prune -exec rm -rf {} +
  (cd "$work" && git init -q -b main && git add -A &&
    git -c user.email=you@example.com -c user.name=gantry commit -qm "example project" &&
    git push -q -f "http://gantry:${GANTRY_TOKEN}@${url#http://}/git/${name}.git" main)
  rm -rf "$work"
}
name="$(basename "$example")"
# Notifications of the deploy workflow go to a local receiver (its log: $data/notifications.log),
# through the project secret NOTIFY_WEBHOOK_URL.
receiver_tool="$root/examples/learning-platform/tools/webhook-receiver.py"
hook_url=""
if [ -f "$receiver_tool" ]; then
  python3 "$receiver_tool" --port 0 --out "$data/notifications.jsonl" >"$data/notifications.log" 2>&1 &
  receiver=$!
  for _ in $(seq 50); do
    hook_url=$(sed -n 's/^webhook receiver on \(http[^ ]*\).*/\1/p' "$data/notifications.log")
    [ -n "$hook_url" ] && break
    sleep 0.1
  done
fi
"$G" projects 2>/dev/null | grep -qw "$name" || "$G" project create "$name" >/dev/null 2>&1
set_secret() {  # set_secret NAME VALUE: a project secret of $name
  curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $GANTRY_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"value\": \"$2\"}" "$url/api/v1/projects/$name/secrets/$1" || echo "could not set the secret $1 of $name"
}
# The auth service signs its tokens with AUTH_SECRET (.gantry/services.yml: secrets).
if ! curl -fsS -H "Authorization: Bearer $GANTRY_TOKEN" "$url/api/v1/projects/$name/secrets" 2>/dev/null |
  grep -q '"AUTH_SECRET"'; then
  set_secret AUTH_SECRET "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fi
[ -z "$hook_url" ] || set_secret NOTIFY_WEBHOOK_URL "$hook_url"
push_example "$example"
[ "$example" = "$root/examples/hello" ] || push_example "$root/examples/hello"
cat <<MSG

Gantry is running.
  dashboard   $url/           (sign in with the admin token)
  admin token $GANTRY_ADMIN_TOKEN   (also in $token_file)
  git         git push http://gantry:TOKEN@${url#http://}/git/${name}.git main
  registry    ${url#http://}/v2/   (skopeo/docker: any user name, the token as password)
  metrics     $url/metrics
  services    http://learn.localhost:${lb_listen##*:}/ (production), http://staging.learn.localhost:${lb_listen##*:}/ (staging), once deployed
  webhooks    ${hook_url:-not started}   (deliveries in $data/notifications.log)
  CLI         export GANTRY_URL=$url GANTRY_TOKEN=\$(cat $token_file); $G runs
The push of $name started its CI (lint, tests, security scan, images, then the deploy
workflow: staging, approval, production canary). Watch it with '$G runs' or in the
dashboard; docs/tutorial.md walks through it (approve with
'$G approve SERVICE --env production --server $url').
Ctrl-C stops the server, then the services it deployed ('$G down --data $data');
the data stays in $data, and running this script again picks it up.
MSG
sleep 2
"$G" runs 2>/dev/null | head -5 || true
# Print the services' URLs once they are deployed. The load balancer gives every
# environment a host of its own: the example's services share learn.localhost (production)
# and staging.learn.localhost, with a path per service (its .gantry/services.yml).
watch_services() {
  local seen="" deadline=$((SECONDS + 3600)) port="${lb_listen##*:}"
  while [ $SECONDS -lt $deadline ]; do
    local body lines
    if ! body=$(curl -fsS -H "Authorization: Bearer $GANTRY_TOKEN" "$url/api/v1/services" 2>/dev/null); then
      echo "(this server has no /api/v1/services: see '$G status SERVICE --env staging')"
      return
    fi
    lines=$(python3 -c '
import json, sys
port = sys.argv[1]
paths = {"frontend": "/", "user": "/api/users", "auth": "/api/auth", "course": "/api/courses"}
for s in sorted(json.loads(sys.stdin.read()).get("services", []), key=lambda s: (s["environment"], s["service"])):
    if not s.get("stable_revision"):
        continue
    env = s["environment"]
    host = ("" if env == "production" else env + ".") + "learn.localhost"
    if s["service"] in paths:
        url = "http://%s:%s%s" % (host, port, paths[s["service"]])
    else:
        url = "http://%s.%s.localhost:%s/" % (s["service"], env, port)
    print("  %-10s %-9s %-44s %s" % (env, s["service"], url, s["stable_revision"][:12]))
' "$port" <<<"$body" 2>/dev/null)
    if [ -n "$lines" ] && [ "$lines" != "$seen" ]; then
      printf '\nDeployed services (through the load balancer on %s; curl and browsers resolve\n*.localhost to this machine):\n%s\n' "$lb_listen" "$lines"
      seen="$lines"
    fi
    sleep 5
  done
}
watch_services &
watcher=$!
wait "$server"
