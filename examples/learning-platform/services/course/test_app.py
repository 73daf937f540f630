import json
import os
import sys
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app  # noqa: E402


def request(base, path, method="GET", token=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(base + path, data=b"" if method == "POST" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class FakeAuth(BaseHTTPRequestHandler):
    """A real HTTP server standing in for the auth service: token "good-N" is user N."""

    def do_GET(self):
        token = self.headers.get("Authorization", "")[len("Bearer "):]
        if self.path == "/api/auth/verify" and token.startswith("good-"):
            status, body = 200, {"sub": int(token[5:]), "name": "user" + token[5:]}
        else:
            status, body = 401, {"error": "invalid"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class CourseServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.auth = ThreadingHTTPServer(("127.0.0.1", 0), FakeAuth)
        threading.Thread(target=cls.auth.serve_forever, daemon=True).start()
        os.environ["AUTH_URL"] = "http://127.0.0.1:%d/api/auth" % cls.auth.server_address[1]
        cls.server = app.app.make_server("127.0.0.1", 0)
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.server, cls.auth):
            s.shutdown()
            s.server_close()

    def setUp(self):
        app.enrolments.clear()

    def test_catalogue(self):
        status, body = request(self.base, "/api/courses")
        self.assertEqual((status, body["count"]), (200, 3))
        status, body = request(self.base, "/api/courses?level=beginner")
        self.assertEqual([c["id"] for c in body["courses"]], [1])
        self.assertEqual(request(self.base, "/api/courses/2")[1]["available"], 20)
        self.assertEqual(request(self.base, "/api/courses/9")[0], 404)

    def test_enrol_needs_a_valid_token(self):
        self.assertEqual(request(self.base, "/api/courses/1/enroll", "POST")[0], 401)
        self.assertEqual(request(self.base, "/api/courses/1/enroll", "POST", token="forged")[0], 401)
        status, body = request(self.base, "/api/courses/1/enroll", "POST", token="good-7")
        self.assertEqual((status, body["user"]), (201, 7))
        self.assertEqual(request(self.base, "/api/courses/1")[1]["enrolled"], 1)
        # Enrolling twice is idempotent.
        request(self.base, "/api/courses/1/enroll", "POST", token="good-7")
        self.assertEqual(request(self.base, "/api/courses/1")[1]["enrolled"], 1)

    def test_full_course(self):
        saved = app.COURSES[2]["seats"]
        app.COURSES[2]["seats"] = 1
        try:
            self.assertEqual(request(self.base, "/api/courses/2/enroll", "POST", token="good-1")[0], 201)
            self.assertEqual(request(self.base, "/api/courses/2/enroll", "POST", token="good-2")[0], 409)
        finally:
            app.COURSES[2]["seats"] = saved

    def test_auth_down_is_503(self):
        saved = os.environ["AUTH_URL"]
        os.environ["AUTH_URL"] = "http://127.0.0.1:1/api/auth"
        try:
            self.assertEqual(request(self.base, "/api/courses/1/enroll", "POST", token="good-1")[0], 503)
        finally:
            os.environ["AUTH_URL"] = saved


if __name__ == "__main__":
    unittest.main()
