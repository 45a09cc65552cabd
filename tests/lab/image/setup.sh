#!/bin/bash
# Runs once inside the debootstrapped rootfs (no network) to turn it into a lab host image.
set -euo pipefail

# A non-root user for become tests: key login, passwordless sudo.
useradd --create-home --shell /bin/bash deploy
usermod --password '*' deploy # no password, but not "locked" (sshd refuses locked accounts)
echo 'deploy ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/deploy
chmod 0440 /etc/sudoers.d/deploy
install -d -m 700 -o root -g root /root/.ssh
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh

# sshd: keys only. pam_loginuid cannot work inside a container; make it optional.
install -m 644 /opt/lab/sshd_config /etc/ssh/sshd_config.d/lab.conf
sed -i 's/^session\s\+required\s\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd
rm -f /etc/ssh/ssh_host_*

# Nothing may pretend to be systemd: plans must use commands that really work here.
rm -f /usr/bin/systemctl /bin/systemctl /usr/sbin/policy-rc.d

# nginx: Debian's stock nginx.conf stays as shipped; the default site goes.
rm -f /etc/nginx/sites-enabled/default

chmod 755 /opt/lab/entrypoint.sh
rm -f /opt/lab/setup.sh
