#!/bin/bash
# Runs once at image build, after image/setup.sh (no network): Odoo's configuration
# directory (odoo.conf is written there at first start, see start.sh).
set -euo pipefail
install -d -m 755 /etc/opticserp
