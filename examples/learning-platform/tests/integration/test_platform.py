"""Integration test: the four services as real processes on loopback ports, wired to each
other by URL, exercised the way a learner would (sign in, enrol, see the page).

With GANTRY (the path of a gantry binary) or `gantry` on PATH, the same calls also go
through `gantry lb` configured with the listener rules of .gantry/services.yml.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES = ("user", "auth", "course", "frontend")


def call(url, method="GET", data=None, token=None, raw=False, host=None):
    headers = {"Content-Type": "application/json"}
    if host:
        headers["Host"] = host
    if token:
        headers["Authorization"] = "Bearer " + token
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            text = res.read().decode()
            return res.status, text if raw else json.loads(text)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, text if raw else json.loads(text)


def start(name, env, procs):
    """Starts a service with PORT=0, adds it to procs, and returns its base URL once it
    listens. Each service gets a process group of its own, so that stop() also reaches a
    wrapper's child (pyenv's python3 shim, for one)."""
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "services", name, "app.py")],
        env=dict(os.environ, PORT="0", **env),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    procs.append(proc)
    line = proc.stdout.readline()
    if " listening on " not in line:
        raise RuntimeError("%s did not start: %r" % (name, line))
    return line.split(" listening on ")[1].strip()


def stop(procs):
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()


class PlatformTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.addClassCleanup(stop, cls.procs)  # also when a later start fails
        cls.urls = {}
        env = {"AUTH_SECRET": "integration-test", "GIT_COMMIT": "0123456789abcdef"}  # security: allow
        for name in ("user", "auth"):
            cls.urls[name] = start(name, env, cls.procs)
        cls.urls["course"] = start("course", dict(env, AUTH_URL=cls.urls["auth"] + "/api/auth"), cls.procs)
        backends = {"USER_URL": cls.urls["user"] + "/api/users", "COURSE_URL": cls.urls["course"] + "/api/courses"}
        cls.urls["frontend"] = start("frontend", dict(env, **backends), cls.procs)

    def test_every_service_reports_health_and_version(self):
        for name in SERVICES:
            self.assertEqual(call(self.urls[name] + "/health")[0], 200, name)
            status, info = call(self.urls[name] + "/version")
            with open(os.path.join(ROOT, "services", name, "VERSION")) as f:
                version = f.read().strip()
            self.assertEqual((status, info["service"], info["version"], info["commit"]),
                             (200, name, version, "0123456789abcdef"))

    def test_sign_in_enrol_and_see_it_on_the_page(self):
        status, login = call(self.urls["auth"] + "/api/auth/login", "POST", {"username": "alice", "password": "learn"})
        self.assertEqual(status, 200)
        status, enrolled = call(self.urls["course"] + "/api/courses/3/enroll", "POST", {}, token=login["token"])
        self.assertEqual((status, enrolled["user"], enrolled["name"]), (201, 1, "alice"))
        status, page = call(self.urls["frontend"] + "/", raw=True)
        self.assertEqual(status, 200)
        self.assertIn("Observability for small teams</td><td>intermediate</td><td>24 of 25", page)
        self.assertIn("3 learners", page)

    def test_a_token_from_elsewhere_is_refused(self):
        forged = "eyJzdWIiOjF9.bm9wZQ"  # security: allow (a made-up token)
        status, _ = call(self.urls["course"] + "/api/courses/1/enroll", "POST", {}, token=forged)
        self.assertEqual(status, 401)


def gantry_binary():
    return os.environ.get("GANTRY") or shutil.which("gantry")


@unittest.skipUnless(gantry_binary(), "no gantry binary (set GANTRY) for the load balancer test")
class ThroughTheLoadBalancerTest(unittest.TestCase):
    """The listener rules the deployment uses, in `gantry lb`: one host per environment
    (as Gantry's server makes them), paths per service; the frontend finds the backends
    through the Host it was reached on."""

    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.addClassCleanup(stop, cls.procs)
        urls = {}
        for name in SERVICES:
            urls[name] = start(name, {"AUTH_SECRET": "integration-test"}, cls.procs)  # security: allow
        cls.tmp = tempfile.mkdtemp(prefix="lp-lb-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        routes = [("/api/users", "user"), ("/api/auth", "auth"), ("/api/courses", "course"), ("/", "frontend")]
        config = {
            "workers": 1,
            "listeners": [{"listen": "127.0.0.1:0", "rules": [
                {"host": "staging.learn.localhost", "path": path, "forward": [{"target_group": name}]}
                for path, name in routes]}],
            "target_groups": {name: {"targets": [urls[name][len("http://"):]],
                                     "health_check": {"path": "/health", "interval": "1s", "healthy_threshold": 1}}
                              for name in SERVICES},
        }
        path = os.path.join(cls.tmp, "lb.yml")
        with open(path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        lb = subprocess.Popen([gantry_binary(), "lb", "-c", path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
        cls.procs.append(lb)
        cls.base = None
        for _ in range(50):
            line = lb.stdout.readline()
            if "127.0.0.1:" in line:
                port = line.rsplit("127.0.0.1:", 1)[1].split()[0].strip(".,)")
                cls.base = "http://127.0.0.1:" + port
                cls.host = "staging.learn.localhost:" + port
                break
        if cls.base is None:
            raise RuntimeError("gantry lb did not say where it listens")

    def test_routes_and_same_origin_backends(self):
        for name, prefix in (("user", "/api/users"), ("auth", "/api/auth"), ("course", "/api/courses")):
            status, info = call(self.base + prefix + "/version", host=self.host)
            self.assertEqual((status, info["service"]), (200, name))
        self.assertEqual(call(self.base + "/api/users/version", host="other.localhost", raw=True)[0], 404)
        deadline = time.time() + 20
        while True:
            status, summary = call(self.base + "/summary", host=self.host)
            if status == 200 and not summary["degraded"] or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((status, summary["users"], len(summary["courses"]), summary["degraded"]), (200, 3, 3, []))

    def test_enrol_through_the_load_balancer(self):
        # course checks the token with auth through the same listener (the Host it was called on).
        login = {"username": "bob", "password": "learn"}
        status, login = call(self.base + "/api/auth/login", "POST", login, host=self.host)
        self.assertEqual(status, 200)
        status, enrolled = call(self.base + "/api/courses/2/enroll", "POST", {}, token=login["token"], host=self.host)
        self.assertEqual((status, enrolled["name"]), (201, "bob"))

if __name__ == "__main__":
    unittest.main()
