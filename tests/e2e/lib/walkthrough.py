#!/usr/bin/env python3
"""The tutorial's walk-through (docs/tutorial.md), headless, from a clean data directory,
driven by `git push` to a real `gantry server`:

  push v1 -> ci.yml green (lint, tests, security scan, images pushed to the registry) -> its
  deploy job starts deploy.yml -> staging rolling update -> smoke test -> production waits
  -> approved through the API -> production canary -> 100 %;
  push v2 (course with a fault flag that bites in production only) -> ci.yml green ->
  staging -> approved -> the canary analysis fails -> automatic rollback -> Gantry's signed
  webhook ("deployment rolled back") and deploy.yml's notify job reach local receivers.

A load generator through production's host runs from v1's release to the end and must see
no failure outside the bad canary's injected share. Prints the wall time of the whole
walk-through and the time from push to production.

    walkthrough.py                      # SQLite (the embedded default)
    walkthrough.py --postgres           # the same against a throwaway PostgreSQL
Env: GANTRY_BIN (required), GANTRY_SOURCE (the checkout), KEEP=1 keeps the temp dir.
"""

import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

G = os.environ["GANTRY_BIN"]
SOURCE = os.environ.get("GANTRY_SOURCE") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
EXAMPLE = os.path.join(SOURCE, "examples/learning-platform")
TOKEN = "walkthrough-admin"
HOOK_SECRET = "walkthrough-hook-secret"
SERVICES = ["user", "auth", "course", "frontend"]
START = time.monotonic()


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - START, msg), flush=True)


class Fail(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, pred, timeout, every=0.2):
    """Bounded wait on observable state; returns pred's first truthy value."""
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise Fail("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(every)


class Walkthrough:
    def __init__(self, tmp, postgres):
        self.tmp = tmp
        self.postgres = postgres
        self.procs = []
        self.url = None
        self.lb_port = free_port()
        self.pg = None

    # -- processes ---------------------------------------------------------------------
    def spawn(self, argv, logname, **kw):
        out = open(os.path.join(self.tmp, logname), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def line_from(self, logname, pattern, proc, timeout=20):
        path = os.path.join(self.tmp, logname)

        def find():
            if proc.poll() is not None:
                raise Fail("%s exited: %s" % (logname, open(path).read()[-2000:]))
            m = re.search(pattern, open(path).read())
            return m and m.group(1)

        return wait_for(logname, find, timeout, 0.05)

    def start_postgres(self):
        initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not initdb:
            raise Fail("PostgreSQL server binaries not found: scripts/install-deps.sh installs them")
        bindir = os.path.dirname(initdb[-1])
        pgdir = tempfile.mkdtemp(prefix="gantry-e2e-pg.")  # its own dir: the postgres user must reach it
        self.pg = ([], bindir, pgdir)
        pre = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(pgdir, pw.pw_uid, pw.pw_gid)
            pre = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        port = free_port()
        subprocess.run(pre + [bindir + "/initdb", "-D", pgdir + "/data", "-U", "gantry", "--auth=trust", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        opts = "-c listen_addresses=127.0.0.1 -c port=%d -k %s -c fsync=off" % (port, pgdir)
        subprocess.run(pre + [bindir + "/pg_ctl", "-D", pgdir + "/data", "-l", pgdir + "/log", "-w", "-o", opts,
                              "start"], check=True, stdout=subprocess.DEVNULL)
        self.pg = (pre, bindir, pgdir)
        log("PostgreSQL on 127.0.0.1:%d" % port)
        return "postgres://gantry@127.0.0.1:%d/postgres" % port

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        # The load balancer and the instances outlive the server on purpose (SIGKILL safety).
        data = os.path.join(self.tmp, "data", "deploy")
        for f in [os.path.join(data, "lb", "lb.pid")] + glob.glob(os.path.join(data, "instances", "*.json")):
            try:
                pid = json.load(open(f))["pid"]
                if f.endswith("lb.pid"):
                    os.kill(pid, signal.SIGTERM)
                else:
                    os.killpg(pid, signal.SIGTERM)
            except (OSError, ValueError, KeyError):
                pass
        if self.pg:
            pre, bindir, pgdir = self.pg
            subprocess.run(pre + [bindir + "/pg_ctl", "-D", pgdir + "/data", "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(pgdir, ignore_errors=True)

    # -- the API -----------------------------------------------------------------------
    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + TOKEN)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            raise Fail("%s %s: %d %s" % (method, path, e.code, e.read().decode()[:500]))
        return json.loads(text) if text else {}

    def runs(self, workflow):
        return self.api("GET", "/api/v1/runs?project=learning-platform&workflow=%s&limit=20" % workflow)["runs"]

    def describe(self, run):
        full = self.api("GET", "/api/v1/runs/%d" % run["id"])
        jobs = ["%s=%s" % (j["name"], j.get("conclusion") or j["status"]) for j in full.get("jobs", [])]
        return "run %d (%s) %s/%s %s: %s" % (run["id"], run["workflow_name"], run["status"], run.get("conclusion"),
                                            run.get("message", ""), ", ".join(jobs))

    def run_log(self, run):
        req = urllib.request.Request(self.url + "/api/v1/runs/%d/logs" % run["id"])
        req.add_header("Authorization", "Bearer " + TOKEN)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read().decode("utf-8", "replace")

    def wait_run(self, workflow, pred, what, timeout):
        def find():
            for r in self.runs(workflow):
                if pred(r):
                    return r
            return None

        return wait_for(what, find, timeout, 0.5)

    def wait_completed(self, run, timeout, approve=False):
        """Waits for the run to complete; with approve, approves its jobs waiting for production
        (their deployments then carry that approval) and production deployments that wait."""
        approved = set()

        def done():
            if approve:
                # One approval releases every job of the run waiting for production.
                pending = self.api("GET", "/api/v1/runs/%d/approvals" % run["id"])["pending"]
                if "run" not in approved and any(g["environment"] == "production" for g in pending):
                    log("approving run %d for production (jobs %s)" % (run["id"], ", ".join(g["job"] for g in pending)))
                    self.api("POST", "/api/v1/runs/%d/approvals" % run["id"], {"environment": "production", "approve": True})
                    approved.add("run")
                waiting = [d for s in SERVICES
                           for d in self.api("GET", "/api/v1/deployments?service=%s&environment=production" % s)[
                               "deployments"] if d["state"] == "waiting_approval"]
                for d in waiting:
                    if d["id"] not in approved:
                        log("approving %s in production (deployment %s, revision %s)" %
                            (d["service"], d["id"], d["revision"]))
                        self.api("POST", "/api/v1/services/%s/production/approve" % d["service"], {})
                        approved.add(d["id"])
            r = self.api("GET", "/api/v1/runs/%d" % run["id"])
            return r if r["status"] == "completed" else None

        return wait_for(self.describe(run), done, timeout, 0.5)

    # -- the walk-through ----------------------------------------------------------------
    def main(self):
        receiver = os.path.join(EXAMPLE, "tools", "webhook-receiver.py")
        hooks = self.spawn([sys.executable, receiver, "--port", "0", "--out", os.path.join(self.tmp, "gantry-hooks.jsonl"),
                            "--secret", HOOK_SECRET], "gantry-hooks.log")
        hook_url = self.line_from("gantry-hooks.log", r"webhook receiver on (http\S+)", hooks)
        notify = self.spawn([sys.executable, receiver, "--port", "0", "--out", os.path.join(self.tmp, "notify.jsonl")],
                            "notify.log")
        notify_url = self.line_from("notify.log", r"webhook receiver on (http\S+)", notify)

        args = [G, "server", "--data", os.path.join(self.tmp, "data"), "--listen", "127.0.0.1:0",
                "--lb-listen", "127.0.0.1:%d" % self.lb_port]
        if self.postgres:
            args += ["--database", self.start_postgres()]
        env = dict(os.environ, GANTRY_ADMIN_TOKEN=TOKEN)
        server = self.spawn(args, "server.log", env=env)
        self.url = self.line_from("server.log", r"gantry server listening on (http\S+)", server)
        log("gantry server on %s, load balancer on 127.0.0.1:%d" % (self.url, self.lb_port))
        production = "http://learn.localhost:%d" % self.lb_port

        self.api("POST", "/api/v1/projects", {"name": "learning-platform"})
        self.api("PUT", "/api/v1/projects/learning-platform/secrets/AUTH_SECRET", {"value": "walkthrough-auth"})
        self.api("PUT", "/api/v1/projects/learning-platform/secrets/NOTIFY_WEBHOOK_URL", {"value": notify_url})

        src = os.path.join(self.tmp, "src")
        shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("__pycache__"))
        self.shorten_waits(src)
        with open(os.path.join(src, ".gantry", "notifications.yml"), "w") as f:
            f.write("# Added by the walk-through test: Gantry's deployment events, signed, to a local receiver.\n"
                    "topics:\n  deployments:\n    - {protocol: webhook, endpoint: \"%s\", secret: %s}\n" %
                    (hook_url, HOOK_SECRET))
        git = ["git", "-C", src, "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
        remote = "http://dev:%s@%s/git/learning-platform.git" % (TOKEN, self.url.split("://", 1)[1])
        subprocess.run(git + ["init", "-q", "-b", "main"], check=True)

        def push(message):
            subprocess.run(git + ["add", "-A"], check=True)
            subprocess.run(git + ["commit", "-qm", message], check=True)
            subprocess.run(git + ["push", "-q", remote, "main"], check=True)
            return subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

        # v1: push -> CI -> staging -> approval -> production.
        t_push = time.monotonic()
        v1 = push("v1 of the learning platform")
        log("pushed v1 %s" % v1[:12])
        self.release(v1, "v1", expect="success")
        t_prod = time.monotonic()
        log("v1 in production: push to production took %.1fs" % (t_prod - t_push))
        smoke = subprocess.run(["bash", os.path.join(src, "tools", "smoke.sh"), production, v1[:12]],
                               capture_output=True, text=True)
        if smoke.returncode != 0:
            raise Fail("production smoke test:\n" + smoke.stdout + smoke.stderr)

        load = self.spawn([sys.executable, os.path.join(src, "tools", "traffic.py"), production, "--rate", "40",
                           "--duration", "0", "--interval", "5"], "traffic.log")

        # v2: a change to course with a fault that only production's settings trigger.
        with open(os.path.join(src, "services", "course", "flags.json"), "w") as f:
            f.write('{"fail_percent": 20, "only_in": ["production"]}\n')
        t_push2 = time.monotonic()
        v2 = push("course: risky change")
        log("pushed v2 %s (course fails 20%% of requests in production)" % v2[:12])
        self.release(v2, "v2", expect="failure")
        course = [d for d in self.api("GET", "/api/v1/deployments?service=course&environment=production")["deployments"]
                  if d["revision"] == v2[:12]]
        if not course or course[-1]["state"] != "rolled_back" or "analysis" not in course[-1]["reason"]:
            raise Fail("course v2 in production was not rolled back by the analysis: %s" % course)
        log("course v2 rolled back: %s (%.1fs after the push)" % (course[-1]["reason"], time.monotonic() - t_push2))
        # learn.localhost is this machine; urllib does not resolve *.localhost, so send the Host.
        req = urllib.request.Request("http://127.0.0.1:%d/api/courses/version" % self.lb_port,
                                     headers={"Host": "learn.localhost:%d" % self.lb_port})
        version = json.load(urllib.request.urlopen(req, timeout=10))
        if not v1.startswith(version["revision"]):
            raise Fail("production's course runs %s after the rollback, want v1 %s" % (version["revision"], v1[:12]))

        # Notifications: Gantry's signed deployment events, and the notify job's summary.
        def gantry_event():
            path = os.path.join(self.tmp, "gantry-hooks.jsonl")
            if not os.path.exists(path):
                return None
            for line in open(path):
                d = json.loads(line)
                if "rolled" in d["event"] and "course" in json.dumps(d["body"]):
                    return d
            return None

        event = wait_for("the signed 'rolled back' notification", gantry_event, 30)
        log("receiver got %s (signature checked)" % event["event"])

        # The production job of a deploy run waiting for its approval was announced there too.
        def approval_event():
            for line in open(os.path.join(self.tmp, "gantry-hooks.jsonl")):
                d = json.loads(line)
                if d["event"] == "approval.requested" and '"job"' in json.dumps(d["body"]):
                    return d
            return None

        event = wait_for("the signed 'approval requested' notification of a run's job", approval_event, 30)
        log("receiver got %s for a run's job: %s" % (event["event"], json.dumps(event["body"])[:200]))

        def notify_message():
            path = os.path.join(self.tmp, "notify.jsonl")
            if not os.path.exists(path):
                return None
            for line in open(path):
                text = json.dumps(json.loads(line)["body"])
                if v2 in text and "production failure" in text:
                    return text
            return None

        log("notify job posted: %s" % wait_for("deploy.yml's notify message", notify_message, 30))

        load.send_signal(signal.SIGTERM)
        load.wait(timeout=20)
        report = json.loads(open(os.path.join(self.tmp, "traffic.log")).read().strip().splitlines()[-1])
        log("load through production: %s" % json.dumps(report))
        if report["requests"] == 0 or report["other_failed"] != 0:
            raise Fail("requests failed other than by the bad canary's injected share: %s" % report)
        self.down(server)
        log("PASS: wall time %.1fs, push to production %.1fs (%s)" %
            (time.monotonic() - START, t_prod - t_push, "PostgreSQL" if self.postgres else "SQLite"))

    def down(self, server):
        """Ctrl-C of the main job: the server stops, `gantry down` stops what it kept serving."""
        data = os.path.join(self.tmp, "data")
        pids = [json.load(open(f))["pid"] for f in glob.glob(os.path.join(data, "deploy", "instances", "*.json"))]
        lb_pid = json.load(open(os.path.join(data, "deploy", "lb", "lb.pid")))["pid"]
        server.terminate()
        server.wait(timeout=30)
        os.kill(lb_pid, 0)  # still serving after the server stopped, by design
        out = subprocess.run([G, "down", "--data", data], capture_output=True, text=True, timeout=60)
        if out.returncode != 0 or "stopped the load balancer (pid %d)" % lb_pid not in out.stdout:
            raise Fail("gantry down: %d %s %s" % (out.returncode, out.stdout, out.stderr))
        alive = []
        for pid in pids + [lb_pid]:
            try:
                os.kill(pid, 0)
                if open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] != "Z":
                    alive.append(pid)
            except (OSError, IndexError):
                pass
        if alive:
            raise Fail("still running after gantry down: %s" % alive)
        log("gantry down: %s" % " / ".join(out.stdout.strip().splitlines()))

    def release(self, sha, name, expect):
        """CI of `sha` must pass; the deploy run it starts must end with `expect`."""
        ci = self.wait_run("ci", lambda r: r["sha"] == sha, "the ci run of " + name, 60)
        ci = self.wait_completed(ci, 600)
        if ci["conclusion"] != "success":
            raise Fail("%s\n%s" % (self.describe(ci), self.run_log(ci)[-6000:]))
        log("ci of %s: success (%s)" % (name, self.describe(ci).split(": ", 1)[1]))
        deploy = self.wait_run("deploy", lambda r: r["inputs"].get("revision") == sha, "the deploy run of " + name, 60)
        deploy = self.wait_completed(deploy, 600, approve=True)
        if deploy["conclusion"] != expect:
            raise Fail("deploy of %s ended %s, want %s\n%s\n%s" % (name, deploy["conclusion"], expect,
                                                                  self.describe(deploy), self.run_log(deploy)[-6000:]))
        log("deploy of %s: %s (%s)" % (name, expect, self.describe(deploy).split(": ", 1)[1]))

    def shorten_waits(self, src):
        """The example's behaviour in test time: faster health checks and analysis, and the
        staging smoke test pointed at this test's load balancer port."""
        path = os.path.join(src, ".gantry", "services.yml")
        text = open(path).read()
        for old, new in [("      interval: 2s\n", "      interval: 300ms\n"), ("      timeout: 1s\n", "      timeout: 250ms\n"),
                         ("      interval: 10s\n", "      interval: 2s\n"), ("      count: 3\n", "      count: 2\n"),
                         ("      min_requests: 10\n", "      min_requests: 3\n"),
                         ("deregistration_delay: 2s", "deregistration_delay: 300ms")]:
            if old not in text:
                raise Fail("services.yml changed: cannot shorten %r" % old)
            text = text.replace(old, new)
        open(path, "w").write(text)
        path = os.path.join(src, ".github", "workflows", "deploy.yml")
        text = open(path).read()
        default = "http://staging.learn.localhost:8081"
        if default not in text:
            raise Fail("deploy.yml changed: no %s" % default)
        open(path, "w").write(text.replace(default, "http://staging.learn.localhost:%d" % self.lb_port))


def main():
    postgres = "--postgres" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="gantry-e2e-walkthrough.")
    w = Walkthrough(tmp, postgres)
    try:
        w.main()
        return 0
    except (Fail, subprocess.CalledProcessError) as e:
        print("FAIL: %s" % e, flush=True)
        for name in ["server.log"]:
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                print("--- %s (last lines)\n%s" % (name, open(path).read()[-3000:]), flush=True)
        return 1
    finally:
        w.stop_all()
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept " + tmp)


if __name__ == "__main__":
    sys.exit(main())
