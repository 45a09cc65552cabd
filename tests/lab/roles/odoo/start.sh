# shellcheck shell=bash
# odoo role start-up, sourced by entrypoint.sh (IP, STATE, log, fail and publish_ready come
# from it): nginx with the Odoo site, the inner Docker engine and the Odoo stand-in
# container (or, with `lab up --odoo real`, the real Odoo 17 from the lab's shared image store).
# ---- nginx with the Odoo site (no websocket support: that is wsdeploy's job)
# With `lab up --https` the lab's CA signed a certificate for this host (in /lab-state/tls):
# the site then redirects 80 to 443 and serves Odoo on 443.
site_template=/opt/lab/role/odoo-site.conf.in
if [[ -f $STATE/tls/lab.crt ]]; then
    install -d -m 755 /etc/nginx/ssl
    install -m 644 "$STATE/tls/lab.crt" /etc/nginx/ssl/lab.crt
    install -m 600 "$STATE/tls/lab.key" /etc/nginx/ssl/lab.key
    site_template=/opt/lab/role/odoo-site-https.conf.in
fi
if [[ ! -f /etc/nginx/sites-available/odoo.conf ]]; then
    sed "s/@PUBLIC_HOST@/$IP/" "$site_template" >/etc/nginx/sites-available/odoo.conf
fi
ln -sfn /etc/nginx/sites-available/odoo.conf /etc/nginx/sites-enabled/odoo.conf
rm -f /etc/nginx/sites-enabled/default
# Group 990 is the container's `odoo` user (the real Odoo reads the mounted file as that user).
[[ -f /etc/opticserp/odoo.conf ]] || install -m 640 -g 990 /opt/lab/role/odoo.conf /etc/opticserp/odoo.conf
nginx -t 2>&1
nginx
log "nginx started"

# ---- inner Docker engine
if ! iptables -t nat -L -n >/dev/null 2>&1; then
    log "iptables (nft) unusable here; switching to iptables-legacy"
    update-alternatives --set iptables /usr/sbin/iptables-legacy
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy
fi
driver=overlay2
if [[ $(stat -f -c %T /var/lib/docker) == overlayfs ]]; then
    driver=vfs
    log "warning: /var/lib/docker is not a volume; using the slow vfs storage driver"
fi
# The real Odoo's image (`lab up --odoo real`): loaded once by the lab into a read-only store
# (tests/lab/odoo17.sh, build_odoo17_store) shared by every host: the engine's metadata is
# copied into this host's storage and the image's layer bind-mounted read-only in place,
# before dockerd starts. Containers write to their own overlay upper directory on this host.
if [[ ${LAB_ODOO:-} == real ]]; then
    store=/opt/lab/odoo17-store
    [[ $driver == overlay2 && -s $store/layer-id ]] || fail "the real Odoo needs the overlay2 driver and the store $store"
    layer=/var/lib/docker/overlay2/$(cat "$store/layer-id")/diff
    t0=$(date +%s%3N)
    [[ -d $layer ]] || cp -a "$store/meta/." /var/lib/docker/
    mountpoint -q "$layer" || mount --bind -o ro "$store/layer" "$layer"
    t1=$(date +%s%3N)
    log "real Odoo image from the shared store in $((t1 - t0)) ms"
    echo "$((t1 - t0))" >/run/lab-odoo-load-ms
fi
dockerd --storage-driver="$driver" --log-level=warn --iptables=true --ip6tables=false \
    --userland-proxy=true --exec-opt native.cgroupdriver=cgroupfs \
    --max-concurrent-downloads=1 --max-concurrent-uploads=1 >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 300); do
    docker info >/dev/null 2>&1 && break
    kill -0 $! 2>/dev/null || { tail -n 20 /var/log/dockerd.log; fail "dockerd exited"; }
    sleep 0.1
done
docker info >/dev/null 2>&1 || { tail -n 20 /var/log/dockerd.log; fail "dockerd not ready after 30 s"; }
log "dockerd ready (storage driver $driver)"

# ---- the real Odoo 17 (`lab up --odoo real`: its image comes from the shared store, above)
if [[ ${LAB_ODOO:-} == real ]]; then
    if ! docker container inspect opticserp_odoo >/dev/null 2>&1; then
        docker run -d --name opticserp_odoo --restart=no \
            -p 127.0.0.1:8072:8072 -p 8069:8069 \
            -v /etc/opticserp:/etc/odoo:ro wsdeploy-lab-odoo17:latest >/dev/null
    fi
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null http://127.0.0.1:8069/web/health 2>/dev/null && break
        sleep 0.2
    done
    curl -fsS -o /dev/null http://127.0.0.1:8069/web/health || { docker logs opticserp_odoo 2>&1 | tail -n 40; fail "the real Odoo does not answer on 8069"; }
    # In prefork (workers > 0) the evented process listens on 8072 a second later.
    if grep -qE '^[[:space:]]*workers[[:space:]]*=[[:space:]]*[1-9]' /etc/opticserp/odoo.conf; then
        for _ in $(seq 1 300); do
            curl -sS -o /dev/null http://127.0.0.1:8072/web/health 2>/dev/null && break
            sleep 0.2
        done
    fi
    log "opticserp_odoo (real Odoo 17) up: $(docker port opticserp_odoo | tr '\n' ' ')"
    publish_ready
fi

# ---- the Odoo stand-in
if ! docker container inspect opticserp_odoo >/dev/null 2>&1; then
    docker load -q -i /opt/lab/odoo-standin.tar
    docker run -d --name opticserp_odoo --restart=no \
        -p 127.0.0.1:8072:8072 -p 8069:8069 \
        -v /etc/opticserp:/etc/odoo:ro wsdeploy-lab-odoo >/dev/null
fi
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null http://127.0.0.1:8069/web/health 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1:8069/web/health || { docker logs opticserp_odoo; fail "the Odoo stand-in does not answer on 8069"; }
log "opticserp_odoo up: $(docker port opticserp_odoo | tr '\n' ' ')"

