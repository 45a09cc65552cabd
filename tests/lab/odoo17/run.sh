#!/bin/bash
# The real Odoo 17 container's entrypoint: PostgreSQL in the background, then Odoo as user
# odoo with the mounted /etc/odoo/odoo.conf. As Odoo's own image does, the database
# connection and the addons path come from the command line (they override odoo.conf);
# everything else (workers, gevent_port, proxy_mode, dbfilter, logfile...) is odoo.conf's.
# SIGTERM (docker stop/restart) stops Odoo, then PostgreSQL.
set -uo pipefail

pg_ctlcluster 15 main start || exit 1
HOME=/var/lib/odoo setpriv --reuid=odoo --regid=odoo --init-groups -- /opt/odoo/odoo-bin -c /etc/odoo/odoo.conf \
    --addons-path="$(cat /opt/odoo/lab-addons-path)" --data-dir=/var/lib/odoo \
    --db_host=127.0.0.1 --db_port=5432 --db_user=odoo --db_password=odoo "$@" &
odoo=$!
stop() {
    kill -TERM "$odoo" 2>/dev/null
    wait "$odoo"
    pg_ctlcluster 15 main stop -m fast
    exit 0
}
trap stop TERM INT
wait "$odoo"
code=$?
pg_ctlcluster 15 main stop -m fast
exit "$code"
