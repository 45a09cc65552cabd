#!/bin/bash
# Runs once at image build, after image/setup.sh (no network): the nodemon backend, its
# environment built offline from the wheelhouse (plain `uvicorn`: no WebSocket library),
# and its supervisor program.
set -euo pipefail

useradd --system --home-dir /opt/nodemon --shell /usr/sbin/nologin nodemon
install -d -m 755 /opt/nodemon /opt/nodemon/venvs /var/log/nodemon
cp -r /opt/lab/role/backend /opt/nodemon/backend
install -m 755 /opt/lab/role/rebuild.sh /opt/nodemon/rebuild.sh
mv /opt/lab/wheelhouse /opt/wheelhouse
/opt/nodemon/rebuild.sh --no-restart
install -m 644 /opt/lab/role/supervisor.conf /etc/supervisor/conf.d/nodemon.conf
