#!/bin/bash
# Runs on a fastapi lab host (piped through ssh by `lab check`): the role's acceptance checks.
# Prints one "ok NAME" or "FAIL NAME: detail" line per check.
set -u
nginx_config_is_valid() { nginx -t; }
backend_answers() { curl -fsS --max-time 2 http://127.0.0.1:8000/debug/websocket-test | grep -F '"ok"'; }
nginx_serves_backend() { curl -fsS --max-time 2 "http://$(hostname -I | awk '{ print $1 }')/api/health" | grep -F '"ok"'; }
backend_listens_on_loopback_only() { ss -Hltn 'sport = :8000' | grep -F '127.0.0.1:8000'; }
backend_runs_under_supervisor() { supervisorctl status nodemon-backend | grep RUNNING; }
backend_restart_works() {
    local before after
    before=$(supervisorctl pid nodemon-backend)
    /opt/nodemon/rebuild.sh || return 1
    after=$(supervisorctl pid nodemon-backend)
    echo "pid $before -> $after"
    [[ $before != "$after" ]] || return 1
    for _ in $(seq 1 50); do
        curl -fsS --max-time 1 http://127.0.0.1:8000/api/health && return 0
        sleep 0.1
    done
    return 1
}
no_systemctl() { ! command -v systemctl; }
compose_plugin_present() { docker compose version | grep -F 'Docker Compose version v2.'; }
deploy_user_has_sudo() { su deploy -c 'sudo -n true'; }

for check in nginx_config_is_valid backend_answers nginx_serves_backend backend_listens_on_loopback_only \
    backend_runs_under_supervisor backend_restart_works no_systemctl compose_plugin_present deploy_user_has_sudo; do
    if out=$("$check" 2>&1); then
        echo "ok $check"
    else
        echo "FAIL $check: $(tail -c 400 <<<"$out" | tr '\n' ' ')"
    fi
done
