"""The lab's only simulated piece of the bench: a small HTTP responder in place of Frappe's
web server (gunicorn on webserver_port). Frappe's real realtime server authenticates every
Socket.IO connection by calling `/api/method/frappe.realtime.get_user_info` (with the
client's `sid` cookie) at the Origin URL; this answers that call as Frappe does for a guest,
serves a page carrying the boot values a browser client reads (`sitename`,
`socketio_port`), `/api/method/ping`, and 404 for everything else.

The site comes from `X-Frappe-Site-Name`, else the Host header's hostname, as in Frappe;
a site without `sites/<site>/site_config.json` gets Frappe's 404."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BENCH = os.environ.get("FRAPPE_BENCH", "/home/frappe/frappe-bench")


def bench_conf():
    """common_site_config.json (truthy values only, as Frappe's node_utils.js reads it)."""
    try:
        with open(os.path.join(BENCH, "sites", "common_site_config.json")) as f:
            return {k: v for k, v in json.load(f).items() if v}
    except (OSError, ValueError):
        return {}


def hostname(value):
    if not value:
        return None
    if "://" in value:
        value = value.split("/")[2]
    return value.split(":", 1)[0]


class Handler(BaseHTTPRequestHandler):
    server_version = "frappe-web-lab"

    def _send(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status, value):
        self._send(status, json.dumps(value), "application/json")

    def site(self):
        return hostname(self.headers.get("X-Frappe-Site-Name")) or hostname(self.headers.get("Host"))

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        site = self.site()
        if path == "/api/method/ping":
            self._json(200, {"message": "pong"})
            return
        if not site or not os.path.isfile(os.path.join(BENCH, "sites", site, "site_config.json")):
            self._json(404, {"exc_type": "IncorrectSitePath", "message": f"{site} does not exist"})
            return
        if path == "/api/method/frappe.realtime.get_user_info":
            cookie = self.headers.get("Cookie") or ""
            print(f"get_user_info site={site} cookie={cookie!r}", flush=True)
            self._json(
                200,
                {"message": {"user": "Guest", "user_type": "Website User", "installed_apps": ["frappe"]}},
            )
        elif path in ("/", "/app", "/raven"):
            conf = bench_conf()
            boot = {"sitename": site, "socketio_port": conf.get("socketio_port")}
            page = (
                "<!doctype html><title>Frappe</title>"
                f"<script>frappe.boot = {json.dumps(boot)};</script><h1>{site}</h1>"
            )
            self._send(200, page, "text/html")
        else:
            self._json(404, {"exc_type": "DoesNotExistError", "path": path})

    def log_message(self, fmt, *args):
        sys.stdout.write("%s - %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
