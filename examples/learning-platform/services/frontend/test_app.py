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


class FakeBackends(BaseHTTPRequestHandler):
    """Real HTTP servers standing in for the user and course services."""

    hosts = []

    def do_GET(self):
        FakeBackends.hosts.append(self.headers.get("Host"))
        if self.path == "/api/users":
            body = {"users": [], "count": 2}
        elif self.path == "/api/courses":
            body = {"courses": [{"id": 1, "title": "Rust <3", "level": "beginner", "seats": 5, "available": 4}],
                    "count": 1}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def get(url, host=None):
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class FrontendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backends = ThreadingHTTPServer(("127.0.0.1", 0), FakeBackends)
        threading.Thread(target=cls.backends.serve_forever, daemon=True).start()
        cls.backend_base = "http://127.0.0.1:%d" % cls.backends.server_address[1]
        cls.server = app.app.make_server("127.0.0.1", 0)
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        for s in (cls.server, cls.backends):
            s.shutdown()
            s.server_close()

    def setUp(self):
        for name in ("USER_URL", "COURSE_URL", "AUTH_URL"):
            os.environ.pop(name, None)

    def test_page_lists_courses_escaped(self):
        os.environ["USER_URL"] = self.backend_base + "/api/users"
        os.environ["COURSE_URL"] = self.backend_base + "/api/courses"
        status, page = get(self.base + "/")
        self.assertEqual(status, 200)
        self.assertIn("Rust &lt;3", page)
        self.assertIn("2 learners", page)
        self.assertNotIn("Unavailable", page)

    def test_backends_through_the_host_it_was_reached_on(self):
        # No *_URL: the frontend calls /api/... on the Host of the request, as behind the
        # load balancer, whose listener routes those paths to the backends.
        host = "127.0.0.1:%d" % self.backends.server_address[1]
        status, body = get(self.base + "/summary", host=host)
        data = json.loads(body)
        self.assertEqual((status, data["users"], data["degraded"]), (200, 2, []))

    def test_backends_through_an_environment_host(self):
        # Gantry's load balancer gives each environment a host such as
        # staging.learn.localhost; .localhost names are reached on 127.0.0.1.
        host = "staging.learn.localhost:%d" % self.backends.server_address[1]
        status, body = get(self.base + "/summary", host=host)
        data = json.loads(body)
        self.assertEqual((status, data["users"], data["degraded"]), (200, 2, []))
        self.assertEqual(FakeBackends.hosts[-1], host)

    def test_foreign_host_is_refused(self):
        self.assertEqual(get(self.base + "/summary", host="evil.example.com")[0], 400)

    def test_degrades_when_a_backend_is_down(self):
        os.environ["USER_URL"] = "http://127.0.0.1:1/api/users"
        os.environ["COURSE_URL"] = self.backend_base + "/api/courses"
        status, body = get(self.base + "/summary")
        data = json.loads(body)
        self.assertEqual((status, data["users"], data["degraded"]), (200, None, ["user"]))

    def test_health_and_version(self):
        self.assertEqual(get(self.base + "/health")[0], 200)
        self.assertEqual(json.loads(get(self.base + "/version")[1])["service"], "frontend")


if __name__ == "__main__":
    unittest.main()
