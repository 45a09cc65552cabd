#!/bin/bash
# Runs on an odoo-systemd lab host (piped through ssh by `lab check`): the role's acceptance checks.
# Prints one "ok NAME" or "FAIL NAME: detail" line per check.
set -u
systemd_is_pid1() { test "$(ps -o comm= -p 1)" = systemd; }
no_docker() { ! command -v docker; }
nginx_config_is_valid() { nginx -t; }
odoo_answers() { curl -fsS --max-time 2 http://127.0.0.1:8069/web/health | grep -F pass; }
nginx_serves_odoo() { curl -fsS --max-time 5 -o /dev/null -w '%{http_code}\n' http://127.0.0.1/web/login | grep -Fx 200; }
odoo_runs_as_odoo_with_deb_config() {
    local pid
    pid=$(systemctl show -p MainPID --value odoo)
    [[ $pid -gt 0 ]] && ps -o user=,args= -p "$pid" | grep -E '^odoo .*--config /etc/odoo/odoo.conf --logfile /var/log/odoo/odoo-server.log'
}
odoo_restart_changes_pid() {
    local before after
    before=$(systemctl show -p MainPID --value odoo)
    systemctl restart odoo || return 1
    after=$(systemctl show -p MainPID --value odoo)
    echo "pid $before -> $after"
    [[ $before != "$after" && $after -gt 0 ]] || return 1
    for _ in $(seq 1 100); do
        curl -fsS --max-time 1 http://127.0.0.1:8069/web/health && return 0
        sleep 0.2
    done
    return 1
}
nginx_reload_works() { systemctl reload nginx && systemctl is-active nginx; }
deploy_user_has_sudo() { su deploy -c 'sudo -n true'; }

for check in systemd_is_pid1 no_docker nginx_config_is_valid odoo_answers nginx_serves_odoo \
    odoo_runs_as_odoo_with_deb_config odoo_restart_changes_pid nginx_reload_works deploy_user_has_sudo; do
    if out=$("$check" 2>&1); then
        echo "ok $check"
    else
        echo "FAIL $check: $(tail -c 400 <<<"$out" | tr '\n' ' ')"
    fi
done
