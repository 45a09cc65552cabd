#!/bin/bash
# Runs once at image build, after image/setup.sh (no network): a frappe-bench with the
# realtime server (Frappe's layout, socket.io from the bundled node_modules), the web
# stand-in and their supervisor programs.
set -euo pipefail

useradd --create-home --shell /bin/bash frappe
bench=/home/frappe/frappe-bench
install -d -o frappe -g frappe "$bench" "$bench/logs" "$bench/config"
cp -r /opt/lab/role/bench/. "$bench/"
install -d "$bench/apps/frappe/node_modules"
tar -C "$bench/apps/frappe" -xf /opt/lab/node_modules.tar
rm /opt/lab/node_modules.tar
cp /opt/lab/role/realtime/package.json /opt/lab/role/realtime/package-lock.json "$bench/apps/frappe/"
chown -R frappe:frappe "$bench"
node --version
install -m 644 /opt/lab/role/supervisor.conf /etc/supervisor/conf.d/frappe-bench.conf
