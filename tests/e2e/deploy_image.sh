#!/usr/bin/env bash
# An image revision on the local fleet: a tiny image made with umoci (a static HTTP server,
# a file that a second layer whites out, Entrypoint/Env/WorkingDir in its config) is pushed
# with skopeo to `gantry server`'s registry, a service declares `image:`, is deployed, and
# answers through the load balancer from inside a bubblewrap sandbox whose root is the
# unpacked image. A second project's config is active beside the first; a clashing service
# name is refused.
set -euo pipefail
G=${GANTRY_BIN:?}
for tool in umoci skopeo bwrap cc git curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.d)"; exit 1; }
done
T=$(mktemp -d /tmp/gantry-deploy-image-XXXXXX)
SERVER=""
cleanup() {
  [[ -n "$SERVER" ]] && kill -9 "$SERVER" 2>/dev/null || true
  stop_deployed "$T/data" || true
  sleep 0.3
  pkill -KILL -f "$T/" 2>/dev/null || true  # only what runs from this test's temp dir
  chmod -R u+w "$T" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -50 "$T/server.log"; cat "$T"/data/deploy/instances/*.log 2>/dev/null | tail -20; exit 1; }

export GANTRY_ADMIN_TOKEN=image-admin GANTRY_TOKEN=image-admin
source "$(dirname "$0")/lib/server.sh"
LB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_gantry_server "$T/data" "$T/server.log" --lb-listen "127.0.0.1:$LB_PORT"

# The image: one static binary answering every request with $GREETING, the working dir and
# whether /etc/old.txt (whited out by the second layer) exists.
mkdir -p "$T/l1/bin" "$T/l1/etc" "$T/l1/srv"
cat >"$T/hello.c" <<'C'
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(getenv("PORT")));
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 64)) return 1;
  char cwd[256], body[512], buf[4096];
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    if (read(c, buf, sizeof buf) <= 0) { close(c); continue; }
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "?");
    int n = snprintf(body, sizeof body, "%s cwd=%s old=%s\n", getenv("GREETING"), cwd,
                     access("/etc/old.txt", F_OK) == 0 ? "present" : "gone");
    dprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", n, body);
    close(c);
  }
}
C
cc -static -O1 -o "$T/l1/bin/hello" "$T/hello.c"
echo old >"$T/l1/etc/old.txt"
# Layers are tars made by tar and added verbatim: umoci 0.4.7's `insert` writes layers whose
# gzip stream ends early for files of some hundred KiB (bin/hello), which the unpacker
# rightly refuses as truncated.
mkdir -p "$T/l2/etc" && : >"$T/l2/etc/.wh.old.txt"
tar cf "$T/layer1.tar" -C "$T/l1" bin etc srv
tar cf "$T/layer2.tar" -C "$T/l2" etc
(cd "$T" && umoci init --layout img && umoci new --image img:v1 &&
  umoci raw add-layer --image img:v1 layer1.tar && umoci raw add-layer --image img:v1 layer2.tar &&
  umoci config --image img:v1 --config.entrypoint /bin/hello --config.env GREETING=hello-from-image \
    --config.workingdir /srv) >/dev/null
reg=${GANTRY_URL#http://}
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "x:image-admin" \
  "oci:$T/img:v1" "docker://$reg/shop/hello:v1"

"$G" project create shop >/dev/null
mkdir -p "$T/src/.gantry"
cat >"$T/src/.gantry/services.yml" <<YML
services:
  hello:
    image: $reg/shop/hello:v1
    instances: 2
    health_check: {path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 2}
    deregistration_delay: 200ms
environments:
  staging: {}
YML
(cd "$T/src" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm v1 &&
  git push -q "http://x:image-admin@$reg/git/shop.git" main)

"$G" deploy hello --env staging --revision main >"$T/deploy.txt" 2>&1 || { cat "$T/deploy.txt"; fail "deploy"; }
out=$(curl -sS -H 'Host: hello.staging.localhost' "http://127.0.0.1:$LB_PORT/")
[[ "$out" == "hello-from-image cwd=/srv old=gone" ]] || fail "answer through the lb: '$out'"
# The unpacked root is cached per manifest digest; the instances run inside it.
ls "$T/data/deploy/images"/*/rootfs/bin/hello >/dev/null || fail "no cached rootfs"
[[ ! -e $(echo "$T"/data/deploy/images/*/rootfs)/etc/old.txt ]] || fail "whiteout not applied"
[[ $(ls -d "$T"/data/deploy/images/*/ | wc -l) == 1 ]] || fail "unpacked more than once"
# A second project on the same server: its own service deploys next to shop's (both
# configs active); a service name shop already declares is refused, naming both projects.
"$G" project create blog >/dev/null
mkdir -p "$T/blog/.gantry"
cat >"$T/blog/.gantry/services.yml" <<YML
services:
  blogapp:
    image: shop/hello:v1
    env: {GREETING: hello-from-blog}
    health_check: {path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 2}
environments:
  staging: {}
YML
(cd "$T/blog" && git init -q -b main && git add -A && git -c user.email=t@t -c user.name=t commit -qm b1 &&
  git push -q "http://x:image-admin@$reg/git/blog.git" main)
"$G" deploy blogapp --project blog --env staging --revision main >"$T/blog.txt" 2>&1 || { cat "$T/blog.txt"; fail "blog deploy"; }
out=$(curl -sS -H 'Host: blogapp.staging.localhost' "http://127.0.0.1:$LB_PORT/")
[[ "$out" == "hello-from-blog cwd=/srv old=gone" ]] || fail "blog answer: '$out'"
out=$(curl -sS -H 'Host: hello.staging.localhost' "http://127.0.0.1:$LB_PORT/")
[[ "$out" == "hello-from-image cwd=/srv old=gone" ]] || fail "shop after blog: '$out'"
"$G" status hello --env staging >/dev/null || fail "shop's service is gone from status"
sed -i 's/^  blogapp:/  hello:/' "$T/blog/.gantry/services.yml"
(cd "$T/blog" && git -c user.email=t@t -c user.name=t commit -qam clash && git push -q "http://x:image-admin@$reg/git/blog.git" main)
if "$G" deploy hello --project blog --env staging --revision main >"$T/clash.txt" 2>&1; then fail "clash accepted"; fi
grep -q "service 'hello' of project .* is also declared by project" "$T/clash.txt" || { cat "$T/clash.txt"; fail "clash message"; }
[[ $(ls -d "$T"/data/deploy/images/*/ | wc -l) == 1 ]] || fail "same image unpacked twice"

# A stop (SIGTERM to the instance's process group) ends the sandboxed app, not just bwrap.
kill -9 "$SERVER" && SERVER=""  # its fleet would restart them
pids=$(for f in "$T"/data/deploy/instances/*.json; do json_pid "$f"; done)
for p in $pids; do kill -TERM -- "-$p"; done
for _ in $(seq 50); do pgrep -f "$T/.*bin/hello" >/dev/null || break; sleep 0.1; done
! pgrep -f "$T/.*bin/hello" >/dev/null || fail "SIGTERM left sandboxed instances running"
echo PASS
