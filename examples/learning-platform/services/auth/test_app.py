import json
import os
import sys
import threading
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app  # noqa: E402


def request(base, path, method="GET", data=None, token=None):
    body = None if data is None else json.dumps(data).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class TokenTest(unittest.TestCase):
    def test_round_trip(self):
        token = app.issue(1, "alice", now=1000)
        self.assertEqual(app.verify(token, now=1001), {"sub": 1, "name": "alice", "exp": 1000 + app.TOKEN_SECONDS})

    def test_expired(self):
        token = app.issue(1, "alice", now=1000)
        self.assertIsNone(app.verify(token, now=1001 + app.TOKEN_SECONDS))

    def test_forged_and_malformed(self):
        token = app.issue(1, "alice")
        payload, signature = token.split(".")
        forged = app.b64(json.dumps({"sub": 3, "name": "carol", "exp": 2**40}).encode())
        self.assertIsNone(app.verify(forged + "." + signature))
        self.assertIsNone(app.verify(payload + "." + signature[:-2]))
        for bad in ("", ".", "a.b.c", "x" * 5000, "%%%.%%%"):
            self.assertIsNone(app.verify(bad))


class AuthServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = app.app.make_server("127.0.0.1", 0)
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_login_and_verify(self):
        status, body = request(self.base, "/api/auth/login", "POST", {"username": "bob", "password": "learn"})
        self.assertEqual(status, 200)
        status, who = request(self.base, "/api/auth/verify", token=body["token"])
        self.assertEqual((status, who), (200, {"sub": 2, "name": "bob"}))

    def test_wrong_password_and_unknown_user(self):
        self.assertEqual(request(self.base, "/api/auth/login", "POST", {"username": "bob", "password": "x"})[0], 401)
        unknown = {"username": "eve", "password": "learn"}
        self.assertEqual(request(self.base, "/api/auth/login", "POST", unknown)[0], 401)
        self.assertEqual(request(self.base, "/api/auth/login", "POST", {"username": ["bob"]})[0], 401)

    def test_verify_without_or_with_bad_token(self):
        self.assertEqual(request(self.base, "/api/auth/verify")[0], 401)
        self.assertEqual(request(self.base, "/api/auth/verify", token="abc.def")[0], 401)

    def test_health_and_version(self):
        self.assertEqual(request(self.base, "/health")[0], 200)
        self.assertEqual(request(self.base, "/version")[1]["service"], "auth")


if __name__ == "__main__":
    unittest.main()
