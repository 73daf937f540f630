import json
import os
import sys
import threading
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app  # noqa: E402


def request(base, path, method="GET", data=None):
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(base + path, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class UserServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = app.app.make_server("127.0.0.1", 0)
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        app.seed()

    def test_health_and_version(self):
        self.assertEqual(request(self.base, "/health"), (200, {"status": "ok", "service": "user"}))
        status, info = request(self.base, "/api/users/version")
        self.assertEqual(status, 200)
        self.assertEqual(info["service"], "user")
        with open(os.path.join(os.path.dirname(app.__file__), "VERSION")) as f:
            self.assertEqual(info["version"], f.read().strip())

    def test_list_and_filter(self):
        status, body = request(self.base, "/api/users")
        self.assertEqual((status, body["count"]), (200, 3))
        status, body = request(self.base, "/api/users?role=teacher")
        self.assertEqual([u["name"] for u in body["users"]], ["Bob Chen"])

    def test_create_and_get(self):
        status, user = request(self.base, "/api/users", "POST", {"name": "Dan", "email": "dan@example.com"})
        self.assertEqual((status, user["role"]), (201, "learner"))
        self.assertEqual(request(self.base, "/api/users/%d" % user["id"]), (200, user))

    def test_rejects_bad_input(self):
        self.assertEqual(request(self.base, "/api/users", "POST", {"name": "", "email": "x@example.com"})[0], 400)
        self.assertEqual(request(self.base, "/api/users", "POST", {"name": "X", "email": "not-an-email"})[0], 400)
        taken = {"name": "X", "email": "alice@example.com"}
        self.assertEqual(request(self.base, "/api/users", "POST", taken)[0], 409)
        bad_role = {"name": "X", "email": "y@ex.com", "role": "root"}
        self.assertEqual(request(self.base, "/api/users", "POST", bad_role)[0], 400)
        status, body = request(self.base, "/api/users", "POST", [1, 2])
        self.assertEqual(status, 400)
        self.assertEqual(request(self.base, "/api/users/99")[0], 404)
        self.assertEqual(request(self.base, "/api/users/1", "DELETE")[0], 405)
        self.assertEqual(request(self.base, "/nowhere")[0], 404)

    def test_body_limit(self):
        status, _ = request(self.base, "/api/users", "POST", {"name": "x" * (70 * 1024), "email": "a@b.cd"})
        self.assertEqual(status, 413)

    def test_flags_only_in_some_environments(self):
        path = os.path.join(os.path.dirname(app.__file__), "flags.json")
        with open(path) as f:
            saved = f.read()
        try:
            with open(path, "w") as f:
                f.write('{"fail_percent": 20, "only_in": ["production"]}')
            os.environ["GANTRY_ENVIRONMENT"] = "staging"
            self.assertEqual(app.app.load_flags()["fail_percent"], 0)
            os.environ["GANTRY_ENVIRONMENT"] = "production"
            self.assertEqual(app.app.load_flags()["fail_percent"], 20)
        finally:
            os.environ.pop("GANTRY_ENVIRONMENT", None)
            with open(path, "w") as f:
                f.write(saved)

    def test_injected_failures_are_exactly_the_share(self):
        saved = dict(app.app.flags)
        app.app.flags["fail_percent"] = 25
        try:
            codes = [request(self.base, "/api/users")[0] for _ in range(20)]
        finally:
            app.app.flags.update(saved)
        self.assertEqual(codes.count(500), 5)
        self.assertEqual(request(self.base, "/health")[0], 200)


if __name__ == "__main__":
    unittest.main()
