#!/bin/bash
# Runs once in the image build (no network): odoo17/build.sh installs Odoo in /opt/odoo,
# creates the user odoo and initialises the database odoo; then this lays Odoo out as the
# official .deb does (/usr/bin/odoo, /etc/odoo/odoo.conf, odoo.service, /var/log/odoo) and
# makes a lab host of it (sshd, users, nginx site, units enabled for systemd).
set -euo pipefail
R=/opt/lab/role
/bin/bash /opt/lab-odoo/build.sh

# A non-root user for become tests: key login, passwordless sudo.
useradd --create-home --shell /bin/bash deploy
usermod --password '*' deploy
echo 'deploy ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
install -d -m 700 -o root -g root /root/.ssh
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
install -m 644 /opt/lab/sshd_config /etc/ssh/sshd_config.d/lab.conf
rm -f /etc/ssh/ssh_host_* /opt/lab/sshd_config

# Odoo as the .deb lays it out (the database connection goes over PostgreSQL's socket
# as the OS user odoo, as db_host = False says).
ln -sfn /opt/odoo/odoo-bin /usr/bin/odoo
install -d -m 755 /etc/odoo
sed "s|@ADDONS_PATH@|$(cat /opt/odoo/lab-addons-path)|" "$R/odoo.conf.in" >/etc/odoo/odoo.conf
chown odoo:odoo /etc/odoo/odoo.conf
chmod 640 /etc/odoo/odoo.conf
install -d -m 750 -o odoo -g odoo /var/log/odoo
install -m 644 "$R/odoo.service" /lib/systemd/system/odoo.service
rm -f /usr/local/bin/lab-odoo

# nginx: Debian's stock nginx.conf; the default site goes, the Odoo site comes.
rm -f /etc/nginx/sites-enabled/default
install -m 644 "$R/site.conf" /etc/nginx/sites-available/odoo
ln -sfn /etc/nginx/sites-available/odoo /etc/nginx/sites-enabled/odoo

# systemd in a container: what needs real hardware or a console stays off.
install -m 644 "$R/lab-ready.service" /etc/systemd/system/lab-ready.service
chmod 755 "$R/entrypoint.sh" "$R/lab-ready.sh"
systemctl mask systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
    systemd-udevd-kernel.socket getty@tty1.service console-getty.service systemd-firstboot.service \
    systemd-logind.service dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-fs-fuse-connections.mount sys-kernel-config.mount apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer >/dev/null 2>&1 || true
systemctl enable ssh.service nginx.service postgresql.service odoo.service lab-ready.service
systemctl set-default multi-user.target
rm -f "$R/setup.sh" /usr/sbin/policy-rc.d
