#!/bin/bash
# Lab host start-up (PID 1's child under tini): DinD mounts, sshd, then the role's services
# (/opt/lab/role/start.sh, from tests/lab/roles/ROLE/). Writes /run/lab-ready when all is
# up; with /lab-state mounted, also publishes ip, host keys and ready there for `lab up`.
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

log "role $(cat /opt/lab/role-name)"
# shellcheck source=/dev/null
source /opt/lab/role/start.sh
publish_ready
