#!/bin/bash
# Turns this fastapi lab host into the FastAPI field report's own layout (seed 001) with real
# Docker Compose: project /opt/nodemon with docker-compose.yml, nginx.conf and backend/
# (Dockerfile + requirements.txt + app/); service `backend` (image built from the Dockerfile,
# plain `uvicorn`: no WebSocket library) and service `nginx` (TLS on :8080 as
# nodes.linkti.info, `proxy_pass http://backend:8000`, nginx.conf bind-mounted as a file).
# The host's own nginx and supervised backend are stopped: only the compose services answer.
#
# No registry is reachable from a lab host: the inner Docker engine (started here, storage
# on the host's /var/lib/docker volume) gets its base image `nodemon-lab/debian:bookworm` by
# `docker import` of this host's own Debian 12 rootfs (the lab's debootstrap rootfs plus
# python3, python3-venv and nginx; Docker, sshd and supervisor left out), and pip installs
# offline from the wheelhouse copied into the build context (backend/wheels/).
#   --stale   build the image on the old requirements.txt, then write the fixed one (uvicorn[standard],
#             websockets) as `git pull` would: files right, running image without a WebSocket library
# Idempotent for a given mode. Prints the timings of its steps.
set -euo pipefail
stale=0
[[ ${1:-} == --stale ]] && stale=1
root=/opt/nodemon
name=nodes.linkti.info
compose=(docker compose -f "$root/docker-compose.yml")
t() { date +%s%3N; }
t0=$(t)

# ---- the host's own services make way
supervisorctl stop nodemon-backend >/dev/null 2>&1 || true
if [[ -f /run/nginx.pid ]]; then nginx -s quit || true; fi

# ---- inner Docker engine (as the odoo role's entrypoint starts it)
if ! docker info >/dev/null 2>&1; then
    if ! iptables -t nat -L -n >/dev/null 2>&1; then
        update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
        update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null
    fi
    mkdir -p /var/lib/docker
    mountpoint -q /var/lib/docker || mount -t tmpfs -o mode=711 tmpfs /var/lib/docker
    dockerd --storage-driver=overlay2 --log-level=warn --iptables=true --ip6tables=false \
        --userland-proxy=true --exec-opt native.cgroupdriver=cgroupfs >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 300); do
        docker info >/dev/null 2>&1 && break
        sleep 0.1
    done
    docker info >/dev/null 2>&1 || {
        tail -n 20 /var/log/dockerd.log
        echo "compose layout: dockerd did not start" >&2
        exit 1
    }
fi
docker compose version >/dev/null
t1=$(t)

# ---- base image from this host's rootfs
if ! docker image inspect nodemon-lab/debian:bookworm >/dev/null 2>&1; then
    excl=$(mktemp)
    dpkg -L docker.io containerd runc openssh-server openssh-sftp-server supervisor sudo 2>/dev/null |
        while IFS= read -r f; do if [[ -f $f && ! -L $f ]]; then echo ".$f"; fi; done >"$excl"
    tar -C / --numeric-owner --one-file-system -X "$excl" \
        --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
        --exclude='./tmp/*' --exclude=./opt --exclude=./var/lib/docker --exclude=./var/lib/containerd \
        --exclude='./var/log/*.log' --exclude='./var/log/*/*' --exclude='./var/tmp/*' --exclude=./root \
        --exclude=./home --exclude=./lab-state --exclude='./etc/ssh/ssh_host_*' \
        --exclude='./etc/nginx/sites-enabled/*' --exclude='./etc/supervisor' -cf - . |
        docker import --change 'CMD ["/bin/bash"]' - nodemon-lab/debian:bookworm >/dev/null
    rm -f "$excl"
fi
t2=$(t)

# ---- the project
if [[ ! -f $root/backend/Dockerfile ]]; then
    install -d -m 755 "$root/certs" "$root/backend/wheels"
    cp /opt/wheelhouse/*.whl "$root/backend/wheels/"
    cat >"$root/backend/Dockerfile" <<'EOF'
# nodemon backend: FastAPI served by uvicorn, dependencies from requirements.txt.
FROM nodemon-lab/debian:bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
COPY wheels/ /wheels/
WORKDIR /app
COPY requirements.txt .
RUN pip install --quiet -r requirements.txt
COPY app/ app/
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--forwarded-allow-ips", "*"]
EOF
    printf '%s\n' Dockerfile '**/__pycache__' >"$root/backend/.dockerignore"
    cat >"$root/docker-compose.yml" <<'EOF'
# nodemon: the web UI's API (FastAPI) behind nginx with TLS on :8080.
name: nodemon
services:
  backend:
    build: ./backend
    image: nodemon-backend
    container_name: nodemon-backend
    ports:
      - "127.0.0.1:8000:8000"
    healthcheck:
      test: ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)"]
      interval: 1s
      timeout: 3s
      retries: 30
    restart: unless-stopped
  nginx:
    image: nodemon-lab/debian:bookworm
    container_name: nodemon-nginx
    command: ["nginx", "-g", "daemon off;"]
    ports:
      - "8080:8080"
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./certs:/etc/nginx/certs:ro
    depends_on:
      - backend
    restart: unless-stopped
EOF
    cat >"$root/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid /run/nginx.pid;

events {
    worker_connections 256;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log /dev/stdout;
    error_log /dev/stderr;

    server {
        listen 8080 ssl;
        server_name $name;

        ssl_certificate /etc/nginx/certs/site.pem;
        ssl_certificate_key /etc/nginx/certs/site.key;

        client_max_body_size 16m;

        location / {
            proxy_pass http://backend:8000;
            proxy_set_header Host \$host;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF
    tls=$root/certs
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=wsdeploy-lab-ca \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$tls/site.key" -out "$tls/site.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$name" >"$tls/site.ext"
    openssl x509 -req -in "$tls/site.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 30 -extfile "$tls/site.ext" -out "$tls/site.pem" 2>/dev/null
    rm -f "$tls/ca.key" "$tls/site.csr" "$tls/site.ext" "$tls/ca.srl"
    chmod 644 "$tls/site.key"
fi
"${compose[@]}" build -q backend
t3=$(t)
if ((stale)); then
    printf '%s\n' '# nodemon backend' fastapi==0.115.6 'uvicorn[standard]==0.34.0' 'pydantic>=2,<3' websockets \
        >"$root/backend/requirements.txt"
fi
"${compose[@]}" up -d --wait 2>&1
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null --cacert "$root/certs/ca.pem" --resolve "$name:8080:127.0.0.1" "https://$name:8080/api/health" && break
    sleep 0.1
done
curl -fsS -o /dev/null --cacert "$root/certs/ca.pem" --resolve "$name:8080:127.0.0.1" "https://$name:8080/api/health"
t4=$(t)
echo "compose layout: engine $((t1 - t0)) ms, base image $((t2 - t1)) ms, build $((t3 - t2)) ms, up $((t4 - t3)) ms"
echo "compose layout: nginx (compose service) with TLS on :8080 as $name, upstream backend:8000$( ((stale)) && echo ', image older than requirements.txt')"
