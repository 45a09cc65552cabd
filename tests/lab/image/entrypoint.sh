#!/bin/bash
# Lab host start-up (PID 1's child under tini): DinD mounts, sshd, then the role's services:
# for odoo (the default) nginx, the inner Docker engine and the Odoo stand-in container; for
# another role /opt/lab/role/start.sh. Writes /run/lab-ready when all is up; with
# /lab-state mounted, also publishes ip, host keys and ready there for `lab up`.
set -euo pipefail

LOG=/var/log/lab-entrypoint.log
exec > >(tee -a "$LOG") 2>&1

STATE=/lab-state
log() { echo "lab-entrypoint: $(date +%T.%3N) $*"; }
fail() {
    log "FAILED: $*"
    [[ -d $STATE ]] && echo "$*" >"$STATE/failed"
    exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

publish_ready() {
    echo "$IP" >/run/lab-ready
    if [[ -d $STATE ]]; then
        echo "$IP" >"$STATE/ip"
        cp /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub "$STATE/"
        echo "$IP" >"$STATE/ready"
    fi
    log "ready"
    trap - ERR
    exec sleep infinity
}

# ---- Docker-in-Docker on cgroup v1 (as docker's hack/dind does)
container=docker
export container
if [[ -d /sys/kernel/security ]] && ! mountpoint -q /sys/kernel/security; then
    mount -t securityfs none /sys/kernel/security || log "warning: could not mount securityfs"
fi
if ! mountpoint -q /tmp; then
    mount -t tmpfs -o mode=1777 none /tmp
fi
# Without --privileged (see `lab`), /sys and the cgroup hierarchies come read-only.
if grep -qE '^sysfs /sys sysfs ro[,]' /proc/mounts; then
    mount -o remount,bind,rw /sys
fi
if [[ ! -f /sys/fs/cgroup/cgroup.controllers ]]; then
    mountpoint -q /sys/fs/cgroup || mount -t tmpfs -o uid=0,gid=0,mode=0755 cgroup /sys/fs/cgroup
    # shellcheck disable=SC2013 # subsystem names have no spaces
    for subsystem in $(cut -d: -f2 /proc/1/cgroup); do
        [[ -z $subsystem ]] && continue
        dir=/sys/fs/cgroup/${subsystem#name=}
        mkdir -p "$dir"
        if ! mountpoint -q "$dir"; then
            mount -n -t cgroup -o "$subsystem" cgroup "$dir" || log "warning: could not mount cgroup $subsystem"
        fi
        if grep -qE "^[^ ]+ $dir cgroup ro[,]" /proc/mounts; then
            mount -o remount,bind,rw "$dir"
        fi
    done
fi

IP=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n $IP ]] || fail "no IPv4 address on eth0"
log "host $(hostname) at $IP"

# ---- sshd
[[ -f /etc/ssh/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
[[ -f /etc/ssh/ssh_host_ecdsa_key ]] || ssh-keygen -q -t ecdsa -b 256 -N '' -f /etc/ssh/ssh_host_ecdsa_key
if [[ -n ${LAB_AUTHORIZED_KEY:-} ]]; then
    printf '%s\n' "$LAB_AUTHORIZED_KEY" >/root/.ssh/authorized_keys
    printf '%s\n' "$LAB_AUTHORIZED_KEY" >/home/deploy/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys
    chown deploy:deploy /home/deploy/.ssh/authorized_keys
fi
mkdir -p /run/sshd
/usr/sbin/sshd -t
/usr/sbin/sshd
log "sshd started"

ROLE=$(cat /opt/lab/role-name 2>/dev/null || echo odoo)
if [[ $ROLE != odoo ]]; then
    log "role $ROLE"
    # shellcheck source=/dev/null
    source /opt/lab/role/start.sh
    publish_ready
fi

# ---- nginx with the Odoo site (no websocket support: that is wsdeploy's job)
# With `lab up --https` the lab's CA signed a certificate for this host (in /lab-state/tls):
# the site then redirects 80 to 443 and serves Odoo on 443.
site_template=/opt/lab/odoo-site.conf.in
if [[ -f $STATE/tls/lab.crt ]]; then
    install -d -m 755 /etc/nginx/ssl
    install -m 644 "$STATE/tls/lab.crt" /etc/nginx/ssl/lab.crt
    install -m 600 "$STATE/tls/lab.key" /etc/nginx/ssl/lab.key
    site_template=/opt/lab/odoo-site-https.conf.in
fi
if [[ ! -f /etc/nginx/sites-available/odoo.conf ]]; then
    sed "s/@PUBLIC_HOST@/$IP/" "$site_template" >/etc/nginx/sites-available/odoo.conf
fi
ln -sfn /etc/nginx/sites-available/odoo.conf /etc/nginx/sites-enabled/odoo.conf
rm -f /etc/nginx/sites-enabled/default
# Group 990 is the container's `odoo` user (the real Odoo reads the mounted file as that user).
[[ -f /etc/opticserp/odoo.conf ]] || install -m 640 -g 990 /opt/lab/odoo.conf /etc/opticserp/odoo.conf
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

# ---- the real Odoo 17 (`lab up --odoo real`: its image tar is mounted from the build cache)
if [[ ${LAB_ODOO:-} == real ]]; then
    if ! docker container inspect opticserp_odoo >/dev/null 2>&1; then
        t0=$(date +%s%3N)
        docker load -q -i /opt/lab/odoo17.tar >/dev/null
        t1=$(date +%s%3N)
        log "docker load of the real Odoo image took $((t1 - t0)) ms"
        echo "$((t1 - t0))" >/run/lab-odoo-load-ms
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

# ---- ready
publish_ready
