#!/usr/bin/env bash
# Lint: pyflakes (Debian's pyflakes3) when installed, else a byte-compile of every file;
# then house rules any machine can check: lines <= 120 characters, no tabs or trailing
# blanks, shellcheck for tools/*.sh when installed. Problems are printed as GitHub-style
# ::error annotations and fail the step.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
status=0
mapfile -t py < <(find services lib tests tools -name '*.py' -not -path '*/__pycache__/*' | sort)
if command -v pyflakes3 >/dev/null; then
  pyflakes3 "${py[@]}" || status=1
elif python3 -c 'import pyflakes' 2>/dev/null; then
  python3 -m pyflakes "${py[@]}" || status=1
else
  echo "::warning::pyflakes is not installed (apt-get install pyflakes3); only compiling"
  python3 - "${py[@]}" <<'PY' || status=1
import sys
ok = True
for path in sys.argv[1:]:
    try:
        compile(open(path, encoding="utf-8").read(), path, "exec")
    except SyntaxError as e:
        print("%s:%d:%d: %s" % (path, e.lineno or 0, e.offset or 0, e.msg))
        ok = False
sys.exit(0 if ok else 1)
PY
fi
python3 - "${py[@]}" <<'PY' || status=1
import sys
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.rstrip("\n")
            problem = None
            if len(text) > 120:
                problem = "line longer than 120 characters (%d)" % len(text)
            elif "\t" in text:
                problem = "tab character"
            elif text != text.rstrip():
                problem = "trailing whitespace"
            if problem:
                print("::error file=%s,line=%d::%s" % (path, n, problem))
                bad += 1
sys.exit(1 if bad else 0)
PY
if command -v shellcheck >/dev/null; then
  shellcheck tools/*.sh || status=1
fi
[ "$status" = 0 ] && echo "lint: ${#py[@]} Python files clean"
exit "$status"
