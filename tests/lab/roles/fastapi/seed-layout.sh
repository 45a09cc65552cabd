#!/bin/bash
# Turns this fastapi lab host into the layout of the FastAPI field report (seed 001), as far
# as a host without containers can: nginx serves the site with TLS on :8080 as
# nodes.linkti.info (a certificate from a CA made here, /etc/nginx/tls/ca.pem) and proxies
# to the backend by its compose service name, `backend:8000` (an /etc/hosts alias for
# 127.0.0.1 stands for the compose network's DNS). Idempotent.
set -euo pipefail
name=nodes.linkti.info
tls=/etc/nginx/tls
grep -qE '^127\.0\.0\.1[[:space:]]+backend$' /etc/hosts || echo '127.0.0.1 backend' >>/etc/hosts
if [[ ! -f $tls/site.pem ]]; then
    install -d -m 700 "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=wsdeploy-lab-ca \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$tls/site.key" -out "$tls/site.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$name" >"$tls/site.ext"
    openssl x509 -req -in "$tls/site.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 30 -extfile "$tls/site.ext" -out "$tls/site.pem" 2>/dev/null
fi
cat >/etc/nginx/sites-available/nodemon.conf <<CONF
# nodemon: the web UI's API (FastAPI, compose service backend:8000) behind nginx, TLS on :8080.
server {
    listen 8080 ssl;
    server_name $name;

    ssl_certificate $tls/site.pem;
    ssl_certificate_key $tls/site.key;

    access_log /var/log/nginx/nodemon.access.log;
    error_log /var/log/nginx/nodemon.error.log;

    client_max_body_size 16m;

    location / {
        proxy_pass http://backend:8000;
        proxy_set_header Host \$host;
        proxy_set_header X-Real-IP \$remote_addr;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
    }
}
CONF
nginx -t 2>&1
nginx -s reload
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null --cacert "$tls/ca.pem" --resolve "$name:8080:127.0.0.1" "https://$name:8080/api/health" && break
    sleep 0.1
done
curl -fsS -o /dev/null --cacert "$tls/ca.pem" --resolve "$name:8080:127.0.0.1" "https://$name:8080/api/health"
echo "seed layout: nginx with TLS on :8080 as $name, upstream backend:8000"
