#!/usr/bin/env python3
"""Waits for the newest deployment of a service in an environment to end, on the Gantry
server in GANTRY_URL (token GANTRY_TOKEN), printing its events as they come.

    python3 tools/wait-deployment.py SERVICE ENVIRONMENT [--revision REV]

`gantry deploy` (and so the gantry/deploy action) returns once a deployment waits for its
approval; deploy.yml uses this to hold the production job until the deployment has been
approved and its canary has finished. Exit 0 when it succeeded, 1 when it ended otherwise
(rolled back, rejected, aborted, failed), 2 for bad arguments or when no deployment of
REV (a prefix either way) is found.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ACTIVE = ("waiting_approval", "running", "paused")


def get(base, token, path):
    req = urllib.request.Request(base.rstrip("/") + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service")
    parser.add_argument("environment")
    parser.add_argument("--revision", default="", help="the revision deployed (commit SHA or its prefix)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    args = parser.parse_args()
    base, token = os.environ.get("GANTRY_URL", ""), os.environ.get("GANTRY_TOKEN", "")
    if not base:
        print("wait-deployment: GANTRY_URL is not set", file=sys.stderr)
        return 2
    query = urllib.parse.urlencode({"service": args.service, "environment": args.environment})
    printed, announced = 0, ""
    while True:
        try:
            deployments = get(base, token, "/api/v1/deployments?" + query).get("deployments", [])
        except (OSError, ValueError) as e:  # the server restarting: try again
            print("wait-deployment: %s" % e, file=sys.stderr)
            time.sleep(args.poll)
            continue
        rev = args.revision
        mine = [d for d in deployments if not rev or str(d.get("revision", "")).startswith(rev[:12])
                or rev.startswith(str(d.get("revision", "x")))]
        if not mine:
            print("wait-deployment: no deployment of %s in %s%s" % (
                args.service, args.environment, " at " + rev if rev else ""), file=sys.stderr)
            return 2
        d = get(base, token, "/api/v1/deployments/%s" % mine[-1]["id"])
        events = d.get("events", [])
        for e in events[printed:]:
            print("  " + str(e.get("message", e)), flush=True)
        printed = len(events)
        state = d.get("state", "")
        if state == "waiting_approval" and announced != state:
            print("waiting for approval: gantry approve %s --env %s" % (args.service, args.environment), flush=True)
        announced = state
        if state not in ACTIVE:
            reason = d.get("reason") or ""
            print("deployment %s of %s: %s%s" % (d.get("id"), args.service, state, " (%s)" % reason if reason else ""))
            return 0 if state == "succeeded" else 1
        time.sleep(args.poll)


if __name__ == "__main__":
    sys.exit(main())
