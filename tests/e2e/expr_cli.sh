#!/usr/bin/env bash
# gantry expr end to end: results, --json, --context, --if, hashFiles, exit codes and messages.
set -euo pipefail
bin="${GANTRY_BIN:?GANTRY_BIN must point at the gantry binary}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect WANT ARGS... : stdout of `gantry expr ARGS` equals WANT and exit code 0
  local want="$1"; shift
  local got
  got="$("$bin" expr "$@")" || fail "gantry expr $* exited $?"
  [ "$got" = "$want" ] || fail "gantry expr $*: want '$want', got '$got'"
}

cat >"$tmp/ctx.json" <<'JSON'
{"github": {"event_name": "push", "ref": "refs/heads/main",
            "event": {"commits": [{"message": "fix: a"}, {"message": "feat: b"}]}},
 "matrix": {"os": "linux", "node": 20},
 "needs": {"build": {"outputs": {"version": "1.2.3"}, "result": "success"}}}
JSON

expect true "github.event_name == 'push' && contains(github.ref, 'main')" --context "$tmp/ctx.json"
expect true "GITHUB.Event_Name == 'PUSH'" --context "$tmp/ctx.json"
expect "v1.2.3-linux" "format('v{0}-{1}', needs.build.outputs.version, matrix.os)" -c "$tmp/ctx.json"
expect "fix: a,feat: b" "join(github.event.commits.*.message)" -c "$tmp/ctx.json"
expect '"20"' "toJSON(format('{0}', matrix.node))" -c "$tmp/ctx.json"
expect "" "github.nothing.here" -c "$tmp/ctx.json"
expect null "github.nothing" -c "$tmp/ctx.json" --json
expect 255 "0xff"
expect '{
  "a": [
    1,
    true
  ]
}' "fromJSON('{\"a\":[1,true]}')"
expect "b" "\${{ case(false, 'a', 'b') }}"
# --if: the implicit success() && ..., and status functions.
expect true "github.event_name == 'push'" --if -c "$tmp/ctx.json"
expect false "github.event_name == 'push'" --if --status failure -c "$tmp/ctx.json"
expect true "failure()" --if --status failure
expect true "\${{ always() }}" --if --status cancelled
# hashFiles over a workspace.
mkdir -p "$tmp/ws/src" && printf 'a' >"$tmp/ws/src/a.txt" && printf 'b' >"$tmp/ws/src/b.txt"
want="$(cd "$tmp/ws" && { sha256sum src/a.txt; sha256sum src/b.txt; } | cut -d' ' -f1 | xxd -r -p | sha256sum | cut -d' ' -f1)"
expect "$want" "hashFiles('src/**/*.txt')" --workspace "$tmp/ws"
expect "" "hashFiles('nothing/*.c')" --workspace "$tmp/ws"
# Context availability per workflow key.
set +e
err="$("$bin" expr "secrets.token" --key 'jobs.<job_id>.if' 2>&1)"; rc=$?
set -e
[ $rc = 2 ] || fail "secrets in jobs.<job_id>.if: exit $rc"
case "$err" in *"Unrecognized named-value: 'secrets'"*"jobs.<job_id>.if"*github*needs*) ;; *) fail "message: $err" ;; esac

# Syntax error: exit 2, message with position on stderr, nothing on stdout.
set +e
out="$("$bin" expr "1 == (2" 2>"$tmp/err")"; rc=$?
set -e
[ $rc = 2 ] || fail "syntax error exit code $rc"
[ -z "$out" ] || fail "syntax error printed to stdout: $out"
grep -q "Unexpected end of expression: '2'. Located at position 7 within expression: 1 == (2" "$tmp/err" ||
  fail "syntax message: $(cat "$tmp/err")"
# Evaluation error: exit 1.
set +e
"$bin" expr "format('{1}', 'a')" 2>"$tmp/err"; rc=$?
set -e
[ $rc = 1 ] || fail "evaluation error exit code $rc"
grep -q "references more arguments than were supplied" "$tmp/err" || fail "evaluation message: $(cat "$tmp/err")"
# Bad context file: exit 2.
echo '{"github": [' >"$tmp/bad.json"
set +e
"$bin" expr "github" -c "$tmp/bad.json" 2>/dev/null; rc=$?
set -e
[ $rc = 2 ] || fail "bad context file exit code $rc"
# Too deep / too long: refused cleanly.
deep="$(printf '!%.0s' $(seq 1 200))true"
set +e
"$bin" expr "$deep" 2>"$tmp/err"; rc=$?
set -e
[ $rc = 2 ] && grep -q "Exceeded max expression depth 50" "$tmp/err" || fail "deep expression: $rc $(cat "$tmp/err")"
"$bin" expr --help | grep -q -- "--context" || fail "--help lacks --context"
echo "expr_cli: all checks passed"
