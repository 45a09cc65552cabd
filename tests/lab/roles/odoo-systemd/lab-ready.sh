#!/bin/bash
# Run once by lab-ready.service after boot: waits for sshd, nginx and Odoo (and, in
# prefork, Odoo's evented port) and publishes ip, host keys and ready in /lab-state.
set -uo pipefail
STATE=/lab-state
fail() {
    echo "lab-ready: FAILED: $*" >&2
    [[ -d $STATE ]] && echo "$*" >"$STATE/failed"
    exit 1
}
IP=$(ip -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n $IP ]] || fail "no IPv4 address on eth0"
for unit in ssh nginx postgresql odoo; do
    systemctl is-active -q "$unit" || fail "$unit is not active: $(systemctl status --no-pager "$unit" 2>&1 | tail -n 5)"
done
wait_http() {
    for _ in $(seq 1 600); do
        curl -sS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
wait_http http://127.0.0.1:8069/web/health || fail "Odoo does not answer on 8069: $(tail -n 20 /var/log/odoo/odoo-server.log)"
if grep -qE '^[[:space:]]*workers[[:space:]]*=[[:space:]]*[1-9]' /etc/odoo/odoo.conf; then
    wait_http http://127.0.0.1:8072/web/health || fail "Odoo's evented port 8072 does not answer"
fi
echo "$IP" >/run/lab-ready
if [[ -d $STATE ]]; then
    echo "$IP" >"$STATE/ip"
    cp /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub "$STATE/"
    echo "$IP" >"$STATE/ready"
fi
echo "lab-ready: host $(hostname) at $IP ready"
