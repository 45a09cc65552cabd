#!/bin/bash
# Runs once at image build, after image/setup.sh (no network): a frappe-bench whose
# apps/frappe/ holds Frappe's own realtime server (copied from the sources `lab build` was
# given, /opt/lab/frappe-realtime) with its npm modules (roles/frappe/realtime/package-lock.json),
# the bench's queue Redis, the lab's get_user_info responder, the supervisor programs, and
# the nginx file `bench setup nginx` writes (bench/config/nginx.conf, linked from conf.d as
# `bench setup production` does).
set -euo pipefail

useradd --create-home --shell /bin/bash frappe
bench=/home/frappe/frappe-bench
install -d -o frappe -g frappe "$bench" "$bench/logs" "$bench/apps" "$bench/config/pids"
cp -r /opt/lab/role/bench/. "$bench/"
cp -r /opt/lab/frappe-realtime "$bench/apps/frappe"
rm -rf /opt/lab/frappe-realtime
test -f "$bench/apps/frappe/realtime/index.js" && test -f "$bench/apps/frappe/node_utils.js"
tar -C "$bench/apps/frappe" -xf /opt/lab/node_modules.tar
rm /opt/lab/node_modules.tar
cp /opt/lab/role/realtime/package.json /opt/lab/role/realtime/package-lock.json "$bench/apps/frappe/"
chown -R frappe:frappe "$bench"
node --version
install -m 644 /opt/lab/role/supervisor.conf /etc/supervisor/conf.d/frappe-bench.conf
ln -s "$bench/config/nginx.conf" /etc/nginx/conf.d/frappe-bench.conf
chmod 755 /opt/lab/role/seed-topology.sh
