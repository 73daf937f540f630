#!/usr/bin/env python3
"""A bounded fixed-rate HTTP load for e2e tests (loopback only).

    python3 load.py PORT OUT.json [--rate 40] [--host web.staging.localhost] [--path /]

Sends GET requests at RATE per second to 127.0.0.1:PORT with the given Host header until
SIGTERM, then writes {"sent", "failed", "bodies": {body: count}, "last_error",
"first_failure" (epoch seconds, 0 when none)} to OUT.json.
"""
import argparse
import http.client
import json
import signal
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("out")
    p.add_argument("--rate", type=float, default=40)
    p.add_argument("--host", default="web.staging.localhost")
    p.add_argument("--path", default="/")
    a = p.parse_args()
    counts = {"sent": 0, "failed": 0, "bodies": {}, "first_failure": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    nxt = time.monotonic()
    while not stop:
        counts["sent"] += 1
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5)
            c.request("GET", a.path, headers={"Host": a.host})
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            c.close()
            if r.status != 200:
                raise RuntimeError("%d %s" % (r.status, body[:80]))
            counts["bodies"][body] = counts["bodies"].get(body, 0) + 1
        except Exception as e:  # refused, reset, timeout or a non-200 answer
            counts["failed"] += 1
            counts["last_error"] = str(e)
            counts["first_failure"] = counts["first_failure"] or time.time()
            if isinstance(e, RuntimeError):
                b = str(e).split(" ", 1)[-1]
                counts["bodies"][b] = counts["bodies"].get(b, 0) + 1
        nxt += 1 / a.rate
        time.sleep(max(0, nxt - time.monotonic()))
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(counts, f)


if __name__ == "__main__":
    main()
