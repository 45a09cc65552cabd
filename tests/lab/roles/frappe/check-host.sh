#!/bin/bash
# Runs on a frappe lab host (piped through ssh by `lab check`): the role's acceptance checks.
# Prints one "ok NAME" or "FAIL NAME: detail" line per check.
set -u
IP=$(hostname -I | awk '{ print $1 }')
POLL='/socket.io/?EIO=4&transport=polling'
# Socket.IO CONNECT to the site's namespace on port $1 with extra curl arguments; prints the reply.
sio_connect() {
    local port=$1 sid
    shift
    sid=$(curl -fsS --max-time 2 "$@" "http://127.0.0.1:$port$POLL" | sed -n 's/.*"sid":"\([^"]*\)".*/\1/p')
    [[ -n $sid ]] || return 1
    curl -fsS --max-time 2 "$@" --data-binary "40/$IP," "http://127.0.0.1:$port$POLL&sid=$sid" >/dev/null || return 1
    curl -fsS --max-time 2 "$@" "http://127.0.0.1:$port$POLL&sid=$sid"
}
nginx_config_is_valid() { nginx -t; }
web_answers() { curl -fsS --max-time 2 "http://$IP/api/method/ping" | grep -F pong; }
realtime_polling_handshake() { curl -fsS --max-time 2 "http://127.0.0.1:9000$POLL" | grep -F '"sid"'; }
realtime_accepts_matching_origin() { sio_connect 9000 -H "Host: $IP:9000" -H "Origin: http://$IP" | grep -F "40/$IP,"; }
realtime_refuses_other_origin() { sio_connect 9000 -H 'Host: localhost' | grep -F 'Invalid origin'; }
realtime_runs_under_supervisor() { supervisorctl status frappe-bench-web:frappe-bench-node-socketio | grep RUNNING; }
realtime_restart_works() {
    local before after
    before=$(supervisorctl pid frappe-bench-web:frappe-bench-node-socketio)
    supervisorctl restart frappe-bench-web:frappe-bench-node-socketio || return 1
    after=$(supervisorctl pid frappe-bench-web:frappe-bench-node-socketio)
    echo "pid $before -> $after"
    [[ $before != "$after" ]] || return 1
    for _ in $(seq 1 50); do
        curl -fsS --max-time 1 "http://127.0.0.1:9000$POLL" && return 0
        sleep 0.1
    done
    return 1
}
no_systemctl() { ! command -v systemctl; }
deploy_user_has_sudo() { su deploy -c 'sudo -n true'; }

for check in nginx_config_is_valid web_answers realtime_polling_handshake realtime_accepts_matching_origin \
    realtime_refuses_other_origin realtime_runs_under_supervisor realtime_restart_works no_systemctl \
    deploy_user_has_sudo; do
    if out=$("$check" 2>&1); then
        echo "ok $check"
    else
        echo "FAIL $check: $(tail -c 400 <<<"$out" | tr '\n' ' ')"
    fi
done
