#!/bin/bash
# Runs once inside the Odoo image's build container (no network): installs the Odoo source
# unpacked in /opt/odoo.unpack (and the category stubs from /opt/odoo-stubs when given), creates
# the OS user `odoo` (uid and gid 990) and the PostgreSQL role, and
# initialises the database `odoo` with the `bus` module so that `lab up` never waits for it.
set -euo pipefail

# The tree's root is the directory holding odoo/release.py (an upstream tarball nests it
# one level down).
root=$(dirname "$(dirname "$(find /opt/odoo.unpack -maxdepth 3 -path '*/odoo/release.py' | head -n 1)")")
[[ -f $root/odoo/release.py ]] || { echo "no odoo/release.py in the Odoo source" >&2; exit 1; }
mv "$root" /opt/odoo
rm -rf /opt/odoo.unpack
if [[ ! -f /opt/odoo/odoo-bin ]]; then
    # An sdist tarball ships setup/odoo instead of odoo-bin.
    printf '%s\n' '#!/usr/bin/env python3' 'import odoo' 'if __name__ == "__main__":' '    odoo.cli.main()' >/opt/odoo/odoo-bin
fi
chmod 755 /opt/odoo/odoo-bin
addons=/opt/odoo/odoo/addons
[[ -d /opt/odoo/addons ]] && addons=/opt/odoo/addons,$addons
[[ -d /opt/odoo-stubs ]] && addons=$addons,/opt/odoo-stubs
echo "$addons" >/opt/odoo/lab-addons-path

groupadd --gid 990 odoo
useradd --uid 990 --gid 990 --home-dir /var/lib/odoo --create-home --shell /usr/sbin/nologin odoo
install -d -o odoo -g odoo /var/lib/odoo /mnt/extra-addons

pg_ctlcluster 15 main start
runuser -u postgres -- psql -q -c "CREATE ROLE odoo LOGIN CREATEDB PASSWORD 'odoo'"
started=$SECONDS
runuser -u odoo -- /opt/odoo/odoo-bin --addons-path="$addons" --data-dir=/var/lib/odoo \
    --db_host=127.0.0.1 --db_user=odoo --db_password=odoo \
    -d odoo -i bus --without-demo=all --stop-after-init --log-level=warn
echo "database odoo initialised in $((SECONDS - started)) s"
pg_ctlcluster 15 main stop
install -m 755 /opt/lab-odoo/run.sh /usr/local/bin/lab-odoo
rm -rf /opt/lab-odoo
