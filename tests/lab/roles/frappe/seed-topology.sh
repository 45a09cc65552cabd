#!/bin/bash
# Turns this frappe lab host into the layout of the Frappe/Raven field report (seed 004):
# nginx is only a multiplexer on :8005 (`/` to the web server, `/socket.io/` to the
# realtime server), bench's own nginx file is not loaded, and the realtime server keeps
# listening on socketio_port (9000) on every address, where the browser client connects
# directly because the page URL has a port. The site (site1.local) is not the name
# browsers use (the host's address). Idempotent.
set -euo pipefail
rm -f /etc/nginx/conf.d/frappe-bench.conf
cat >/etc/nginx/sites-available/frappe-multiplexer <<'CONF'
# Frappe multiplexer: one port for the page and for realtime (the field report's nginx).
server {
    listen 8005;
    server_name _;

    location /socket.io/ {
        proxy_pass http://127.0.0.1:9000;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
        proxy_set_header Origin $http_origin;
    }

    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
        proxy_set_header X-Frappe-Site-Name site1.local;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
}
CONF
ln -sfn /etc/nginx/sites-available/frappe-multiplexer /etc/nginx/sites-enabled/frappe-multiplexer
nginx -t 2>&1
nginx -s reload
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null http://127.0.0.1:8005/api/method/ping && break
    sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1:8005/api/method/ping
echo "seed topology: page on :8005 (nginx), realtime on :9000 (node, all addresses), site site1.local"
