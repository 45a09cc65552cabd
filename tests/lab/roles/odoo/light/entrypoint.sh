#!/bin/bash
# Light lab host start-up (`lab up --light`, PID 1's child under tini): sshd, nginx with
# the Odoo site, and the Odoo stand-in as a plain process (no inner Docker engine, no
# privileges). Same files, users and keys as a full host of role odoo; the stand-in binary
# is mounted at /opt/lab-light/odoo (copied from the lab's stand-in image). Writes
# /run/lab-ready and, with /lab-state mounted, ip, host keys and ready for `lab up`.
set -euo pipefail

LOG=/var/log/lab-entrypoint.log
exec > >(tee -a "$LOG") 2>&1

STATE=/lab-state
log() { echo "lab-light: $(date +%T.%3N) $*"; }
fail() {
    log "FAILED: $*"
    [[ -d $STATE ]] && echo "$*" >"$STATE/failed"
    exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

IP=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n $IP ]] || fail "no IPv4 address on eth0"

# ---- sshd (keys only; root and deploy get the lab's key)
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

# ---- nginx with the Odoo site (no websocket support: that is wsdeploy's job)
if [[ ! -f /etc/nginx/sites-available/odoo.conf ]]; then
    sed "s/@PUBLIC_HOST@/$IP/" /opt/lab/role/odoo-site.conf.in >/etc/nginx/sites-available/odoo.conf
fi
ln -sfn /etc/nginx/sites-available/odoo.conf /etc/nginx/sites-enabled/odoo.conf
rm -f /etc/nginx/sites-enabled/default
[[ -f /etc/opticserp/odoo.conf ]] || install -m 640 -g 990 /opt/lab/role/odoo.conf /etc/opticserp/odoo.conf
nginx -t 2>&1
nginx

# ---- the Odoo stand-in, a plain process reading /etc/opticserp/odoo.conf
/opt/lab-light/odoo-restart
log "ready at $IP"
echo "$IP" >/run/lab-ready
if [[ -d $STATE ]]; then
    echo "$IP" >"$STATE/ip"
    cp /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub "$STATE/"
    echo "$IP" >"$STATE/ready"
fi
trap - ERR
exec sleep infinity
