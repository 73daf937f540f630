#!/usr/bin/env bash
# Starts `gantry server` with its embedded defaults (SQLite, local blob store, registry,
# monitor, dashboard) in ./gantry-data, creates the example project, pushes it so that its
# workflow runs, and prints where to look. Ctrl-C stops the server.
#   GANTRY_LISTEN   address:port (default 127.0.0.1:8080)
#   GANTRY_DATA     data directory (default ./gantry-data)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
G="$root/build/gantry"
listen="${GANTRY_LISTEN:-127.0.0.1:8080}"
data="${GANTRY_DATA:-$root/gantry-data}"
example="${GANTRY_EXAMPLE:-$root/examples/hello}"
mkdir -p "$data"
# One admin token for this data directory, kept beside it so restarts find it.
token_file="$data/admin-token"
if [ ! -s "$token_file" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/gty_/' >"$token_file")
fi
export GANTRY_ADMIN_TOKEN="$(cat "$token_file")"
log="$data/server.log"
"$G" server --data "$data" --listen "$listen" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' INT TERM EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^gantry server listening on \(http[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "gantry server did not start"; exit 1; }
export GANTRY_URL="$url" GANTRY_TOKEN="$GANTRY_ADMIN_TOKEN"
name="$(basename "$example")"
"$G" projects 2>/dev/null | grep -qw "$name" || "$G" project create "$name" >/dev/null 2>&1
# Push the example as a repository of its own (a copy, so this checkout is left alone).
work="$(mktemp -d)"
cp -r "$example/." "$work/"
(cd "$work" && git init -q -b main && git add -A &&
  git -c user.email=you@example.com -c user.name=gantry commit -qm "example project" &&
  git push -q -f "http://gantry:${GANTRY_TOKEN}@${url#http://}/git/${name}.git" main)
rm -rf "$work"
cat <<MSG

Gantry is running.
  dashboard   $url/           (sign in with the admin token)
  admin token $GANTRY_ADMIN_TOKEN   (also in $token_file)
  git         git push http://gantry:TOKEN@${url#http://}/git/${name}.git main
  registry    ${url#http://}/v2/   (skopeo/docker: any user name, the token as password)
  metrics     $url/metrics
  CLI         export GANTRY_URL=$url GANTRY_TOKEN=\$(cat $token_file); $G runs
The example's push started its workflow: watch it with '$G runs' or in the dashboard.
Ctrl-C stops the server; its data stays in $data.
MSG
sleep 2
"$G" runs 2>/dev/null | head -5 || true
wait "$server"
