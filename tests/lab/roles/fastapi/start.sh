# shellcheck shell=bash
# fastapi role start-up, sourced by entrypoint.sh (IP, log and fail come from it): nginx
# with the nodemon site (no WebSocket support: that is wsdeploy's job) and supervisord
# running the backend.
if [[ ! -f /etc/nginx/sites-available/nodemon.conf ]]; then
    sed "s/@PUBLIC_HOST@/$IP/" /opt/lab/role/site.conf.in >/etc/nginx/sites-available/nodemon.conf
fi
ln -sfn /etc/nginx/sites-available/nodemon.conf /etc/nginx/sites-enabled/nodemon.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t 2>&1
nginx
log "nginx started"

supervisord -c /etc/supervisor/supervisord.conf
for _ in $(seq 1 150); do
    curl -fsS -o /dev/null http://127.0.0.1:8000/api/health 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null http://127.0.0.1:8000/api/health ||
    { tail -n 30 /var/log/nodemon/backend.log; fail "the nodemon backend does not answer on 8000"; }
log "nodemon-backend up: $(supervisorctl status nodemon-backend)"
