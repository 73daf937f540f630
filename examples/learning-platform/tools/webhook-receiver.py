#!/usr/bin/env python3
"""Prints the notifications Gantry (or deploy.yml's notify job) posts to it.

    python3 tools/webhook-receiver.py [--port 9099] [--out FILE] [--secret S]

One line per delivery: the event (X-Gantry-Event, or "message") and the body. With --out,
each delivery is also appended to FILE as a JSON line (for scripts and tests); with
--secret, X-Gantry-Signature-256 is checked and bad signatures are answered 401.
"""

import argparse
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9099, help="0 picks a free port (printed)")
    parser.add_argument("--out", help="append deliveries as JSON lines to this file")
    parser.add_argument("--secret", help="check X-Gantry-Signature-256 with this secret")
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 20))
            if args.secret:
                expected = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Gantry-Signature-256", "")):
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            event = self.headers.get("X-Gantry-Event", "message")
            text = body.decode("utf-8", "replace")
            print("%s %s %s" % (time.strftime("%H:%M:%S"), event, text), flush=True)
            if args.out:
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"event": event, "path": self.path, "body": payload}) + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("webhook receiver on http://127.0.0.1:%d/" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
