// The tiny HTTP app deployment tests start as instances (written to a temp dir).
#pragma once
namespace gantry::deploy::testing {
inline constexpr const char* kTestAppPy = R"PY(
# A tiny HTTP app for deployment tests: answers its revision; revisions containing "bad"
# answer every 20th non-health request with 500 (exactly 5%), "broken" never gets healthy.
import http.server, os, signal, sys, threading

rev = os.environ.get("GANTRY_REVISION", "")
lock = threading.Lock()
count = 0

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        global count
        code = 200
        if self.path.startswith("/health"):
            if "broken" in rev:
                code = 503
        elif "bad" in rev:
            with lock:
                count += 1
                if count % 20 == 0:
                    code = 500
        body = rev.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("listening on", os.environ["PORT"], "revision", rev, flush=True)
server.serve_forever()
)PY";
}  // namespace gantry::deploy::testing
