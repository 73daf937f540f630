#!/usr/bin/env python3
"""A small load generator for watching deployments: requests through the load balancer
at a steady rate and a report of what came back, per path and status, and per version.

    python3 tools/traffic.py http://learn.localhost:8081 --rate 20 --duration 120
    python3 tools/traffic.py URL --path /api/courses --path /summary --max-failed 0

Every `--interval` seconds it prints one line (requests, failures, the revisions that
answered /api/courses/version), and at the end a JSON report. A failure is a 5xx or no
answer; those a fault flag injected (500 "injected failure", the canary's share during
a bad release) are counted apart from all others (`other_failed`: dropped connections,
502/503/504 from the load balancer, crashes), which a safe rollout never produces.
SIGTERM or Ctrl-C end it early, with the report. Exit 1 when more than --max-failed
requests failed, or more than --max-other-failed failed for other reasons, so scripts can
assert on it.
"""

import argparse
import collections
import json
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def request_for(url):
    """Names under .localhost (Gantry's environment hosts, e.g. staging.learn.localhost)
    are this machine: connect to 127.0.0.1 and send the name as Host."""
    parts = urllib.parse.urlsplit(url)
    name = (parts.hostname or "").lower()
    if name == "localhost" or name.endswith(".localhost"):
        netloc = "127.0.0.1" + (":%d" % parts.port if parts.port else "")
        target = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return urllib.request.Request(target, headers={"Host": parts.netloc})
    return urllib.request.Request(url)


def fetch(url, timeout):
    try:
        with urllib.request.urlopen(request_for(url), timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        try:
            return e.code, e.read(4096)
        except OSError:
            return e.code, b""
    except OSError:
        return 0, b""  # no answer: refused, reset, timed out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="load balancer URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--path", action="append", help="paths to request in turn (default: the API and the page)")
    parser.add_argument("--rate", type=float, default=20, help="requests per second (default 20)")
    parser.add_argument("--duration", type=float, default=60, help="seconds; 0 runs until interrupted")
    parser.add_argument("--interval", type=float, default=5, help="seconds between progress lines")
    parser.add_argument("--timeout", type=float, default=5)
    parser.add_argument("--max-failed", type=int, default=-1, help="exit 1 when more requests failed")
    parser.add_argument("--max-other-failed", type=int, default=-1,
                        help="exit 1 when more requests failed other than by an injected fault")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    paths = args.path or ["/api/courses", "/api/users", "/summary", "/api/courses/1"]
    counts = collections.Counter()  # (path, status)
    versions = collections.Counter()
    lock = threading.Lock()
    window = collections.Counter()
    totals = collections.Counter()  # failures: injected / other
    stop = time.time() + args.duration if args.duration > 0 else float("inf")
    workers = []

    def one(path):
        status, body = fetch(base + path, args.timeout)
        with lock:
            counts[(path, status)] += 1
            window["requests"] += 1
            if status == 0 or status >= 500:
                window["failed"] += 1
                kind = "injected" if status == 500 and b"injected failure" in body else "other"
                totals[kind] += 1

    def sample_version():
        status, body = fetch(base + "/api/courses/version", args.timeout)
        if status == 200:
            info = json.loads(body)
            with lock:
                versions[info.get("revision") or info.get("version")] += 1

    def stop_on_term(*_):
        raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: with the report

    signal.signal(signal.SIGTERM, stop_on_term)
    n = 0
    next_report = time.time() + args.interval
    try:
        while time.time() < stop:
            path = paths[n % len(paths)]
            t = threading.Thread(target=one, args=(path,), daemon=True)
            t.start()
            workers.append(t)
            if n % 10 == 0:
                threading.Thread(target=sample_version, daemon=True).start()
            n += 1
            workers = [w for w in workers if w.is_alive()]
            if time.time() >= next_report:
                with lock:
                    print("%s requests=%d failed=%d course revisions=%s" % (
                        time.strftime("%H:%M:%S"), window["requests"], window["failed"], dict(versions)), flush=True)
                    window.clear()
                    versions.clear()
                next_report += args.interval
            time.sleep(1.0 / args.rate)
    except KeyboardInterrupt:
        pass
    for w in workers:
        w.join(args.timeout + 1)
    failed = sum(c for (path, status), c in counts.items() if status == 0 or status >= 500)
    report = {
        "requests": sum(counts.values()),
        "failed": failed,
        "injected_failed": totals["injected"],
        "other_failed": totals["other"],
        "by_path": {p: {str(s): c for (q, s), c in counts.items() if q == p} for p in paths},
    }
    print(json.dumps(report))
    if 0 <= args.max_failed < failed or 0 <= args.max_other_failed < totals["other"]:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
