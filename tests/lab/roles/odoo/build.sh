# shellcheck shell=bash
# Role odoo's controller side, sourced by tests/lab/lab (msg, die, ROLE_DIR, ROLE_KEY and
# RUN_DIR come from it; tests/lab/README.md, "Roles as data", lists the hooks): the Odoo
# stand-in (standin/, a Rust crate) built here, packed as its own image
# wsdeploy-lab-odoo:KEY, saved into the host image (/opt/lab/odoo-standin.tar, loaded by the
# inner engine at start) and, for light hosts, copied out as a plain binary.
STANDIN_REPO=wsdeploy-lab-odoo

build_standin() {
    local target=${CARGO_TARGET_DIR:-$RUN_DIR/target}
    command -v cargo >/dev/null || die "cargo not found; the Odoo stand-in is a Rust crate (install rustup)"
    msg "building the Odoo stand-in (cargo build --release)"
    CARGO_TARGET_DIR=$target cargo build --quiet --release --manifest-path "$ROLE_DIR/standin/Cargo.toml" ||
        die "building $ROLE_DIR/standin failed"
    STANDIN_BIN=$target/release/odoo-standin
    [[ -x $STANDIN_BIN ]] || die "cargo did not produce $STANDIN_BIN"
}

# The stand-in image: the binary plus the shared libraries it links, nothing else.
build_standin_image() {
    local tag=$1 stage lib
    stage=$(mktemp -d)
    mkdir -p "$stage/usr/bin" "$stage/etc/odoo" "$stage/tmp" "$stage/var/lib/odoo"
    chmod 1777 "$stage/tmp"
    cp "$STANDIN_BIN" "$stage/usr/bin/odoo"
    for lib in $(ldd "$STANDIN_BIN" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
    echo 'root:x:0:0:root:/root:/usr/bin/odoo' >"$stage/etc/passwd"
    tar -C "$stage" --numeric-owner --owner=0 --group=0 -cf - . |
        docker import --change 'ENTRYPOINT ["/usr/bin/odoo"]' --change 'EXPOSE 8069 8072' \
            --change 'WORKDIR /var/lib/odoo' - "$tag" >/dev/null
    rm -rf "$stage"
}

role_images() { echo "$STANDIN_REPO:$ROLE_KEY"; }

role_artifacts() {
    local stage=$1
    build_standin
    msg "creating $STANDIN_REPO:$ROLE_KEY"
    build_standin_image "$STANDIN_REPO:$ROLE_KEY"
    docker tag "$STANDIN_REPO:$ROLE_KEY" "$STANDIN_REPO:latest"
    docker save -o "$stage/odoo-standin.tar" "$STANDIN_REPO:latest"
    echo "$stage/odoo-standin.tar=/opt/lab/odoo-standin.tar"
}

# Light hosts run the stand-in binary of the stand-in image as a plain process.
role_light() {
    local dir=$1 cid image=$STANDIN_REPO:$ROLE_KEY
    cid=$(docker create "$image" /usr/bin/odoo) || die "cannot create a container of $image"
    docker cp "$cid:/usr/bin/odoo" "$dir/odoo-standin" >/dev/null || {
        docker rm "$cid" >/dev/null
        die "cannot copy the stand-in binary out of $image"
    }
    docker rm "$cid" >/dev/null
    echo "$dir/odoo-standin=/opt/lab-light/odoo"
}
