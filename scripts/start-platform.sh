#!/usr/bin/env bash
# Starts `gantry server` with its embedded defaults (SQLite, local blob store, registry,
# monitor, dashboard) in ./gantry-data, creates the example projects (learning-platform, the
# pipeline of docs/tutorial.md, and hello), pushes them so that their workflows run, starts
# a local webhook receiver for the deploy notifications, prints where to look, and prints
# the services' URLs once they are deployed. Ctrl-C stops the server and the receiver.
#   GANTRY_LISTEN   address:port (default 127.0.0.1:8080)
#   GANTRY_DATA     data directory (default ./gantry-data)
#   GANTRY_EXAMPLE  the main example (default examples/learning-platform)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
G="${GANTRY_BIN:-$root/build/gantry}"
listen="${GANTRY_LISTEN:-127.0.0.1:8080}"
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
"$G" server --data "$data" --listen "$listen" >"$log" 2>&1 &
server=$!
receiver=""
watcher=""
stop_all() {
  for pid in $watcher $receiver $server; do kill "$pid" 2>/dev/null || true; done
  for pid in $watcher $receiver $server; do wait "$pid" 2>/dev/null || true; done
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
  webhooks    ${hook_url:-not started}   (deliveries in $data/notifications.log)
  CLI         export GANTRY_URL=$url GANTRY_TOKEN=\$(cat $token_file); $G runs
The push of $name started its CI (lint, tests, security scan, images, then the deploy
workflow: staging, approval, production canary). Watch it with '$G runs' or in the
dashboard; docs/tutorial.md walks through it (approve with
'$G approve SERVICE --env production --server $url').
Ctrl-C stops the server; its data stays in $data.
MSG
sleep 2
"$G" runs 2>/dev/null | head -5 || true
# Print the services' URLs once the deployment API knows them (the load balancer's address
# per environment; see docs/deploy.md). Older servers without it: say so once.
watch_services() {
  local seen="" deadline=$((SECONDS + 1800))
  while [ $SECONDS -lt $deadline ]; do
    local body
    if body=$(curl -fsS -H "Authorization: Bearer $GANTRY_TOKEN" "$url/api/v1/services" 2>/dev/null); then
      local lines
      lines=$(python3 -c '
import json, sys
def walk(v, where):
    if isinstance(v, dict):
        label = "/".join(str(v[k]) for k in ("service", "environment") if k in v) or where
        for k, x in v.items():
            if isinstance(x, str) and x.startswith("http") and "url" in k.lower():
                print("  %-28s %s" % (label, x))
            else:
                walk(x, label)
    elif isinstance(v, list):
        for x in v:
            walk(x, where)
walk(json.loads(sys.stdin.read()), "")' <<<"$body" 2>/dev/null | sort -u)
      if [ -n "$lines" ] && [ "$lines" != "$seen" ]; then
        printf '\nServices deployed (through the load balancer):\n%s\n' "$lines"
        seen="$lines"
      fi
    elif [ -z "$seen" ]; then
      echo "(this server has no /api/v1/services yet: see '$G status SERVICE --env staging')"
      return
    fi
    sleep 5
  done
}
watch_services &
watcher=$!
wait "$server"
