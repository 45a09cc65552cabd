# shellcheck shell=bash
# frappe role start-up, sourced by entrypoint.sh (IP, log and fail come from it): nginx
# with the bench's own configuration and supervisord running Redis, Frappe's realtime
# server and the web responder.
nginx -t 2>&1
nginx
log "nginx started"

supervisord -c /etc/supervisor/supervisord.conf
port=$(sed -n 's/.*"socketio_port": *\([0-9]*\).*/\1/p' /home/frappe/frappe-bench/sites/common_site_config.json)
for _ in $(seq 1 150); do
    curl -fsS -o /dev/null -H 'Host: site1.local' http://127.0.0.1:8000/api/method/ping 2>/dev/null &&
        curl -fsS -o /dev/null "http://127.0.0.1:${port:-3000}/socket.io/?EIO=4&transport=polling" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1:8000/api/method/ping ||
    { tail -n 30 /home/frappe/frappe-bench/logs/web.log; fail "the Frappe web responder does not answer on 8000"; }
curl -fsS -o /dev/null "http://127.0.0.1:${port:-3000}/socket.io/?EIO=4&transport=polling" ||
    { tail -n 30 /home/frappe/frappe-bench/logs/node-socketio.log; fail "the realtime server does not answer on ${port:-3000}"; }
log "frappe-bench up: $(supervisorctl status | tr '\n' ' ')"
