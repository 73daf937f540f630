#!/usr/bin/env python3
"""Offline security check of the repository, run by CI before images are built.

1. Secrets: private keys, cloud and forge tokens, Gantry tokens, and credentials assigned
   as string literals, in every tracked text file.
2. Risky code in the services: eval/exec, pickle, os.system, subprocess with shell=True,
   binding every interface, TLS verification turned off.
3. Dependencies: the services use the standard library only; a requirements file must pin
   every package with a hash (pip --require-hashes), and Dockerfiles must not use
   floating `latest` base images or ADD remote URLs.
4. Bandit (Debian's `bandit`) when installed, for a second opinion.

A finding on a line that ends with `# security: allow` is accepted (say why in the
comment above). Findings are printed as ::error annotations; exit 1 when there are any.
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {".git", "__pycache__", "node_modules", ".gantry-data"}
MAX_BYTES = 1 << 20

SECRETS = [
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Gantry token", re.compile(r"\bgty_[0-9a-f]{16,}\b")),
    ("credential in a literal",
     re.compile(r"""(?i)(?:password|passwd|secret|api_key|apikey|token)["']?\s*[:=]\s*["'][^"'\s$]{8,}["']""")),
]

RISKY_CODE = [
    ("eval/exec of data", re.compile(r"(?<![\w.])(?:eval|exec)\s*\(")),
    ("pickle (code execution on load)", re.compile(r"\bpickle\.loads?\s*\(")),
    ("os.system", re.compile(r"\bos\.system\s*\(")),
    ("subprocess with shell=True", re.compile(r"shell\s*=\s*True")),
    ("binds every interface", re.compile(r"""["']0\.0\.0\.0["']""")),
    ("TLS verification disabled", re.compile(r"_create_unverified_context|verify\s*=\s*False")),
    ("yaml.load without SafeLoader", re.compile(r"\byaml\.load\s*\((?![^)]*SafeLoader)")),
]


def files():
    for base, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            path = os.path.join(base, name)
            if os.path.getsize(path) <= MAX_BYTES:
                yield os.path.relpath(path, ROOT)


def lines(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read().splitlines()
    except (UnicodeDecodeError, OSError):
        return []  # binary files carry no source


def scan():
    findings = []
    for path in files():
        text = lines(path)
        is_service_code = path.startswith("services" + os.sep) and path.endswith(".py") and "test_" not in path
        for n, line in enumerate(text, 1):
            if "# security: allow" in line:
                continue
            for what, regex in SECRETS:
                if regex.search(line):
                    findings.append((path, n, "possible secret: " + what))
            if is_service_code:
                for what, regex in RISKY_CODE:
                    if regex.search(line):
                        findings.append((path, n, "risky code: " + what))
        name = os.path.basename(path)
        if re.match(r"requirements.*\.txt$", name):
            for n, line in enumerate(text, 1):
                spec = line.split("#", 1)[0].strip()
                if spec and not spec.startswith("-") and ("==" not in spec or "--hash=" not in line):
                    findings.append((path, n, "dependency not pinned with ==VERSION --hash=sha256:...: " + spec))
        if name == "Dockerfile":
            for n, line in enumerate(text, 1):
                words = line.split()
                if len(words) >= 2 and words[0].upper() == "FROM" and (words[1].endswith(":latest") or (
                        ":" not in words[1] and "@" not in words[1] and words[1] not in ("scratch",)
                        and not words[1].startswith("$"))):
                    findings.append((path, n, "base image without a fixed tag or digest: " + words[1]))
                if len(words) >= 2 and words[0].upper() == "ADD" and re.match(r"https?://", words[1]):
                    findings.append((path, n, "ADD of a remote URL (unverified download)"))
    return findings


def bandit():
    if not shutil.which("bandit"):
        print("bandit is not installed; skipping it (apt-get install bandit)")
        return 0
    result = subprocess.run(["bandit", "-q", "-r", "-ll", "-x", "test_*.py", os.path.join(ROOT, "services")])
    return result.returncode


def main():
    findings = scan()
    for path, line, message in findings:
        print("::error file=%s,line=%d::%s" % (path, line, message))
    status = 1 if findings else 0
    if bandit() != 0:
        status = 1
    print("security scan: %d finding(s)" % len(findings))
    return status


if __name__ == "__main__":
    sys.exit(main())
