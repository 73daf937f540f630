"""A tiny JSON-over-HTTP framework on Python's standard library, shared by every service.

One copy for all services: app.py adds this directory to sys.path (a deployment runs the
bundle inside the commit's checkout, where lib/ is at hand), and CI copies this file beside
app.py before building an image, so an image holds everything it runs.
"""

import fnmatch
import json
import os
import re
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024  # requests larger than this are refused with 413


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    def __init__(self, method, target, headers, body):
        parsed = urllib.parse.urlsplit(target)
        self.method = method
        self.path = parsed.path
        self.query = dict(urllib.parse.parse_qsl(parsed.query))
        self.headers = headers
        self.body = body
        self.params = ()

    def json(self):
        try:
            value = json.loads(self.body or b"null")
        except ValueError as e:
            raise HttpError(400, "invalid JSON: %s" % e)
        if not isinstance(value, dict):
            raise HttpError(400, "expected a JSON object")
        return value

    def bearer_token(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.startswith("Bearer ") else ""


def read_text(directory, name, default=""):
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return f.read().strip() or default
    except OSError:
        return default


class App:
    """Routes requests under `prefix` (e.g. /api/users) to handlers. Every service also
    answers /health and /version, at the root (for the load balancer's health checks,
    which go to each instance directly) and under its prefix (to ask one service through
    the load balancer)."""

    def __init__(self, name, directory, prefix=""):
        self.name = name
        self.directory = directory
        self.prefix = prefix
        self.routes = []
        self.lock = threading.Lock()
        self.requests = 0
        self.flags = self.load_flags()

    def route(self, method, pattern):
        regex = re.compile("^" + self.prefix + pattern + "$")

        def add(handler):
            self.routes.append((method, regex, handler))
            return handler

        return add

    def load_flags(self):
        """Feature flags: flags.json in the service directory (deployed with the code),
        overridden by the environment. They exist to rehearse failures: fail_percent makes
        that share of API requests answer 500; unhealthy makes /health answer 503."""
        flags = {"fail_percent": 0, "unhealthy": False}
        try:
            with open(os.path.join(self.directory, "flags.json"), encoding="utf-8") as f:
                flags.update(json.load(f))
        except (OSError, ValueError):
            pass
        if os.environ.get("FAIL_PERCENT"):
            flags["fail_percent"] = int(os.environ["FAIL_PERCENT"])
        if os.environ.get("UNHEALTHY"):
            flags["unhealthy"] = os.environ["UNHEALTHY"] not in ("0", "false", "")
        flags["fail_percent"] = max(0, min(100, int(flags["fail_percent"])))
        # "only_in": [environments] limits the faults to those (a change that breaks only
        # with production's settings: staging passes, the production canary catches it).
        only = flags.get("only_in")
        if isinstance(only, list) and os.environ.get("GANTRY_ENVIRONMENT", "local") not in only:
            flags["fail_percent"], flags["unhealthy"] = 0, False
        return flags

    def injected_failure(self):
        """True for exactly fail_percent of the requests, spread evenly."""
        percent = self.flags["fail_percent"]
        if percent <= 0:
            return False
        with self.lock:
            self.requests += 1
            n = self.requests
        return (n * percent) // 100 != ((n - 1) * percent) // 100

    def build_info(self):
        return {
            "service": self.name,
            "version": os.environ.get("APP_VERSION") or read_text(self.directory, "VERSION", "0.0.0-dev"),
            "commit": os.environ.get("GIT_COMMIT") or read_text(self.directory, "COMMIT", "unknown"),
            "revision": os.environ.get("GANTRY_REVISION", ""),
            "environment": os.environ.get("GANTRY_ENVIRONMENT", "local"),
            "instance": os.environ.get("GANTRY_INSTANCE", ""),
        }

    def handle(self, request):
        """Returns (status, body, content type); body is a str or a JSON-able value."""
        if request.path in ("/health", self.prefix + "/health"):
            if self.flags["unhealthy"]:
                return 503, {"status": "unhealthy"}, None
            return 200, {"status": "ok", "service": self.name}, None
        if request.path in ("/version", self.prefix + "/version"):
            return 200, self.build_info(), None
        allowed = []
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            if self.injected_failure():
                return 500, {"error": "injected failure (fail_percent)"}, None
            request.params = match.groups()
            try:
                result = handler(request)
            except HttpError as e:
                return e.status, {"error": e.message}, None
            if isinstance(result, tuple):
                return result if len(result) == 3 else (result[0], result[1], None)
            return 200, result, None
        if allowed:
            return 405, {"error": "method not allowed"}, None
        return 404, {"error": "not found"}, None

    def make_server(self, host="127.0.0.1", port=0):
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def dispatch(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.reply(413, {"error": "request body too large"}, None)
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length > 0 else b""
                request = Request(self.command, self.path, self.headers, body)
                try:
                    status, payload, content_type = app.handle(request)
                except Exception as e:  # a bug answers 500 and keeps the server up
                    print("%s: error in %s %s: %r" % (app.name, self.command, self.path, e), file=sys.stderr)
                    status, payload, content_type = 500, {"error": "internal error"}, None
                self.reply(status, payload, content_type)

            def reply(self, status, payload, content_type):
                if isinstance(payload, str):
                    data = payload.encode()
                    content_type = content_type or "text/plain; charset=utf-8"
                else:
                    data = (json.dumps(payload) + "\n").encode()
                    content_type = content_type or "application/json"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # the client went away (a health check that gave up, a load test)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = dispatch

            def log_message(self, fmt, *args):
                if os.environ.get("ACCESS_LOG"):
                    sys.stderr.write("%s %s\n" % (app.name, fmt % args))

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        return server


def host_allowed(host):
    """ALLOWED_HOSTS: comma-separated names or patterns (fnmatch), default the loopback
    names: 127.0.0.1, localhost and *.localhost (RFC 6761: always this machine)."""
    patterns = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,*.localhost")
    name = host.rsplit(":", 1)[0].lower() if not host.endswith("]") else host
    return any(fnmatch.fnmatchcase(name, p.strip().lower()) for p in patterns.split(",") if p.strip())


def service_url(request, name, path):
    """Where to reach another service: $NAME_URL when set, else `path` on the load
    balancer this request came through (its Host header, accepted only when host_allowed),
    so that each environment's services talk to the same environment without
    per-environment configuration (Gantry gives each environment a host of its own,
    e.g. staging.learn.localhost, on one listener)."""
    explicit = os.environ.get(name.upper() + "_URL")
    if explicit:
        return explicit.rstrip("/")
    host = request.headers.get("Host", "")
    if not host or not host_allowed(host):
        raise HttpError(400, "unexpected Host header %r; set %s_URL" % (host[:100], name.upper()))
    return "http://" + host + path


def call(url, method="GET", data=None, headers=None, timeout=3.0):
    """One JSON call to another service: (status, decoded body). Connection failures are
    (502, {"error": ...}) so callers can degrade instead of crashing. Names under
    .localhost are this machine whatever the resolver says: the call goes to 127.0.0.1
    with the name in the Host header (the load balancer routes on it)."""
    body = None if data is None else json.dumps(data).encode()
    parts = urllib.parse.urlsplit(url)
    name = (parts.hostname or "").lower()
    headers = dict(headers or {})
    if name == "localhost" or name.endswith(".localhost"):
        headers["Host"] = parts.netloc
        netloc = "127.0.0.1" + (":%d" % parts.port if parts.port else "")
        url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read(MAX_BODY * 16) or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read(MAX_BODY) or b"null")
        except ValueError:
            return e.code, {"error": "HTTP %d" % e.code}
    except (OSError, ValueError) as e:
        return 502, {"error": "%s unreachable: %s" % (url, e)}


def main(app):
    """Serves on $HOST:$PORT (default 127.0.0.1 and a free port), prints the address it
    listens on (tests read it), and stops cleanly on SIGTERM."""
    server = app.make_server(os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "0")))
    host, port = server.server_address[:2]
    info = app.build_info()
    print("%s %s listening on http://%s:%d" % (app.name, info["version"], host, port), flush=True)
    if app.flags["fail_percent"] or app.flags["unhealthy"]:
        print("%s: fault flags on: %s" % (app.name, json.dumps(app.flags)), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
