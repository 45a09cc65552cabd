# shellcheck shell=bash
# frappe role start-up, sourced by entrypoint.sh (IP, log and fail come from it): nginx
# with the bench's site (no /socket.io location: that is wsdeploy's job) and supervisord
# running the web stand-in and the realtime server.
if [[ ! -f /etc/nginx/sites-available/frappe-bench.conf ]]; then
    sed "s/@PUBLIC_HOST@/$IP/g" /opt/lab/role/site.conf.in >/etc/nginx/sites-available/frappe-bench.conf
fi
# The bench's default site is this host's address (first start only).
sed -i "s/@PUBLIC_HOST@/$IP/" /home/frappe/frappe-bench/sites/common_site_config.json
ln -sfn /etc/nginx/sites-available/frappe-bench.conf /etc/nginx/sites-enabled/frappe-bench.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t 2>&1
nginx
log "nginx started"

supervisord -c /etc/supervisor/supervisord.conf
for _ in $(seq 1 150); do
    curl -fsS -o /dev/null http://127.0.0.1:8000/api/method/ping 2>/dev/null &&
        curl -fsS -o /dev/null 'http://127.0.0.1:9000/socket.io/?EIO=4&transport=polling' 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1:8000/api/method/ping ||
    { tail -n 30 /home/frappe/frappe-bench/logs/web.log; fail "the Frappe web stand-in does not answer on 8000"; }
curl -fsS -o /dev/null 'http://127.0.0.1:9000/socket.io/?EIO=4&transport=polling' ||
    { tail -n 30 /home/frappe/frappe-bench/logs/node-socketio.log; fail "the realtime server does not answer on 9000"; }
log "frappe-bench up: $(supervisorctl status | tr '\n' ' ')"
