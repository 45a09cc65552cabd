# shellcheck shell=bash
# Role frappe's controller side, sourced by tests/lab/lab (msg, die, CACHE_DIR, VENDOR_DIR
# and ROLE_DIR come from it): Frappe's own realtime server (its sources are part of the
# image key) and its node_modules, fetched here (a lab host reaches no registry) and copied
# into the image as /opt/lab/frappe-realtime and /opt/lab/node_modules.tar.

# Where Frappe's own realtime server comes from (the frappe role runs it): a frappe app
# tree holding realtime/ and node_utils.js, taken from LAB_FRAPPE_REALTIME (a path), else
# $WSDEPLOY_VENDOR_DIR/frappe-realtime (default ../shared/vendor beside the repository),
# else frappe's version-15 branch, cloned once into LAB_CACHE_DIR (needs github.com).
frappe_realtime_dir() {
    local vendor=$VENDOR_DIR dir
    if [[ -n ${LAB_FRAPPE_REALTIME:-} ]]; then
        dir=$LAB_FRAPPE_REALTIME
    else
        dir=$vendor/frappe-realtime
        if [[ ! -d $dir ]]; then
            dir=$CACHE_DIR/frappe-version-15
            if [[ ! -f $dir/node_utils.js ]]; then
                command -v git >/dev/null || die "git is needed to fetch frappe's realtime server (or set LAB_FRAPPE_REALTIME / WSDEPLOY_VENDOR_DIR)"
                msg "no $vendor/frappe-realtime: cloning frappe's version-15 branch (realtime/ only) into $dir"
                rm -rf "$dir"
                mkdir -p "$CACHE_DIR"
                git clone -q --depth 1 --branch version-15 --filter=blob:none --sparse \
                    https://github.com/frappe/frappe "$dir" >&2 &&
                    git -C "$dir" sparse-checkout set realtime >&2 ||
                    die "cloning https://github.com/frappe/frappe (version-15) failed; set LAB_FRAPPE_REALTIME to a frappe checkout or WSDEPLOY_VENDOR_DIR to a directory holding frappe-realtime/"
            fi
        fi
    fi
    [[ -f $dir/realtime/index.js && -f $dir/realtime/middlewares/authenticate.js && -f $dir/node_utils.js ]] ||
        die "$dir is not a frappe app tree with realtime/index.js, realtime/middlewares/authenticate.js and node_utils.js (set LAB_FRAPPE_REALTIME or WSDEPLOY_VENDOR_DIR)"
    (cd "$dir" && pwd)
}

# sha256 of the realtime files the frappe image gets (realtime/** and node_utils.js).
frappe_realtime_sums() {
    local dir
    dir=$(frappe_realtime_dir) || exit 1
    (cd "$dir" && { echo node_utils.js; find realtime -type f; } | LC_ALL=C sort | tr '\n' '\0' | xargs -0 sha256sum)
}

# Copies the realtime files into a staging directory (the image's apps/frappe/).
stage_frappe_realtime() {
    local dir stage=$1
    dir=$(frappe_realtime_dir) || exit 1
    mkdir -p "$stage"
    cp "$dir/node_utils.js" "$stage/"
    cp -r "$dir/realtime" "$stage/"
    chmod -R u+w "$stage"
    msg "frappe realtime server from $dir"
}

# The frappe role's node_modules (socket.io): `npm ci` on this machine from
# roles/frappe/realtime/package-lock.json, packed into a tarball cached by the lock's hash.
build_node_modules() {
    local src=$ROLE_DIR/realtime key tar tmp
    key=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    tar=$CACHE_DIR/node-modules-$key.tar
    NODE_MODULES_TAR=$tar
    if [[ -s $tar ]]; then
        msg "node_modules cached: $tar"
        return
    fi
    command -v npm >/dev/null || die "npm is needed to fetch the frappe role's socket.io (apt-get install npm)"
    mkdir -p "$CACHE_DIR"
    tmp=$(mktemp -d)
    cp "$src/package.json" "$src/package-lock.json" "$tmp/"
    msg "npm ci (roles/frappe/realtime) -> $tar"
    if ! (cd "$tmp" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts) >"$tmp/npm.log" 2>&1; then
        tail -n 30 "$tmp/npm.log" >&2
        rm -rf "$tmp"
        die "npm ci for roles/frappe/realtime failed (log above)"
    fi
    tar -C "$tmp" --numeric-owner --owner=0 --group=0 -cf "$tar.part" node_modules
    mv "$tar.part" "$tar"
    rm -rf "$tmp"
}

role_key() { frappe_realtime_sums; }

role_artifacts() {
    local stage=$1
    build_node_modules
    stage_frappe_realtime "$stage/frappe-realtime"
    echo "$NODE_MODULES_TAR=/opt/lab/node_modules.tar"
    echo "$stage/frappe-realtime=/opt/lab/frappe-realtime"
}
