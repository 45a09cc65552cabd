#!/bin/bash
# odoo-systemd lab host start-up: the mounts systemd needs in a container, sshd's host
# keys and the lab's client key, then systemd as PID 1 (which starts ssh, nginx,
# PostgreSQL, odoo and lab-ready, see /opt/lab/role/lab-ready.sh).
set -euo pipefail

# Without --privileged (see `lab`), /sys and the cgroup hierarchies come read-only.
if grep -qE '^sysfs /sys sysfs ro[,]' /proc/mounts; then
    mount -o remount,bind,rw /sys
fi
if [[ ! -f /sys/fs/cgroup/cgroup.controllers ]]; then
    # shellcheck disable=SC2013 # subsystem names have no spaces
    for subsystem in $(cut -d: -f2 /proc/1/cgroup); do
        [[ -z $subsystem ]] && continue
        dir=/sys/fs/cgroup/${subsystem#name=}
        if grep -qE "^[^ ]+ $dir cgroup ro[,]" /proc/mounts; then
            mount -o remount,bind,rw "$dir"
        fi
    done
    if grep -qE '^[^ ]+ /sys/fs/cgroup tmpfs ro[,]' /proc/mounts; then
        mount -o remount,rw /sys/fs/cgroup
    fi
fi

[[ -f /etc/ssh/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
[[ -f /etc/ssh/ssh_host_ecdsa_key ]] || ssh-keygen -q -t ecdsa -b 256 -N '' -f /etc/ssh/ssh_host_ecdsa_key
if [[ -n ${LAB_AUTHORIZED_KEY:-} ]]; then
    printf '%s\n' "$LAB_AUTHORIZED_KEY" >/root/.ssh/authorized_keys
    printf '%s\n' "$LAB_AUTHORIZED_KEY" >/home/deploy/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys
    chown deploy:deploy /home/deploy/.ssh/authorized_keys
fi
unset LAB_AUTHORIZED_KEY
export container=docker
exec /lib/systemd/systemd
