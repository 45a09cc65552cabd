"""Stand-in for the Frappe web server (gunicorn on webserver_port): answers the pages and
API calls the lab needs, and 404 for everything else, as Frappe does for /socket.io."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    server_version = "frappe-web-standin"

    def _send(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/api/method/ping":
            self._send(200, json.dumps({"message": "pong"}), "application/json")
        elif path in ("/", "/app", "/raven"):
            self._send(200, "<!doctype html><title>Frappe</title><h1>Frappe</h1>", "text/html")
        else:
            self._send(404, json.dumps({"exc_type": "DoesNotExistError", "path": path}), "application/json")

    def log_message(self, fmt, *args):
        sys.stdout.write("%s - %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
