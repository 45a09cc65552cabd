#!/bin/bash
# Runs on a frappe lab host (piped through ssh by `lab check`): the role's acceptance checks.
# Prints one "ok NAME" or "FAIL NAME: detail" line per check.
set -u
IP=$(hostname -I | awk '{ print $1 }')
POLL='/socket.io/?EIO=4&transport=polling'
# Socket.IO CONNECT to the site's namespace on port $1 with extra curl arguments; prints the reply.
SITE=site1.local
sio_connect() {
    local port=$1 sid
    shift
    sid=$(curl -fsS --max-time 2 "$@" "http://127.0.0.1:$port$POLL" | sed -n 's/.*"sid":"\([^"]*\)".*/\1/p')
    [[ -n $sid ]] || return 1
    curl -fsS --max-time 2 "$@" --data-binary "40/$SITE," "http://127.0.0.1:$port$POLL&sid=$sid" >/dev/null || return 1
    sleep 0.3
    curl -fsS --max-time 2 "$@" "http://127.0.0.1:$port$POLL&sid=$sid"
}
nginx_config_is_valid() { nginx -t; }
nginx_config_is_benchs() { nginx -T 2>/dev/null | grep -F 'proxy_pass http://frappe-bench-socketio-server;'; }
web_answers() { curl -fsS --max-time 2 "http://$IP/api/method/ping" | grep -F pong; }
redis_queue_answers() { redis-cli -p 11000 ping | grep -Fx PONG; }
realtime_polling_handshake() { curl -fsS --max-time 2 "http://127.0.0.1:9000$POLL" | grep -F '"sid"'; }
realtime_accepts_through_benchs_nginx() { sio_connect 80 -H "Host: $IP" -b sid=Guest | grep -F "40/$SITE,{\"sid\""; }
realtime_asks_frappe_for_the_user() { grep -F "get_user_info site=$SITE cookie='sid=Guest'" /home/frappe/frappe-bench/logs/web.log; }
realtime_refuses_without_cookie() { sio_connect 80 -H "Host: $IP" | grep -F 'No cookie transmitted.'; }
realtime_refuses_other_origin() { sio_connect 9000 -H 'Host: localhost' -H "Origin: http://$IP:8005" -b sid=Guest | grep -F 'Invalid origin'; }
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

for check in nginx_config_is_valid nginx_config_is_benchs web_answers redis_queue_answers \
    realtime_polling_handshake realtime_accepts_through_benchs_nginx realtime_asks_frappe_for_the_user \
    realtime_refuses_without_cookie realtime_refuses_other_origin realtime_runs_under_supervisor \
    realtime_restart_works no_systemctl deploy_user_has_sudo; do
    if out=$("$check" 2>&1); then
        echo "ok $check"
    else
        echo "FAIL $check: $(tail -c 400 <<<"$out" | tr '\n' ' ')"
    fi
done
