# shellcheck shell=bash
# Role odoo-systemd's controller side, sourced by tests/lab/lab (the real Odoo 17 functions
# of tests/lab/odoo17.sh come from it): the image starts from the real Odoo's package layer
# (the lab rootfs + PostgreSQL + the python3-* of its debian/control) instead of the rootfs,
# its build container holds the Odoo source (setup.sh runs odoo17/build.sh first), and the
# real Odoo's key (source, stubs, odoo17/) is part of the image key.

role_key() { odoo17_key; }

# The base's name without building it (empty when the Odoo source is not here yet).
role_base_ref() {
    locate_odoo_source
    if [[ -s $ODOO_SRC ]]; then odoo17_base_tag; fi
}

# shellcheck disable=SC2034 # ROLE_BASE is read by tests/lab/lab
role_base() {
    fetch_odoo_source
    build_odoo17_base
    ROLE_BASE=$ODOO17_BASE_TAG
}

role_create() { odoo17_setup_container "$@"; }
