# shellcheck shell=bash
# The real Odoo 17 image, sourced by tests/lab/lab (msg, die, LAB_DIR, CACHE_DIR, VENDOR_DIR,
# BASE_REPO, build_rootfs, rootfs_key and image_exists come from it): `lab build --odoo real`
# and `lab up --odoo real` (a `docker save` tar loaded into a host's inner engine), and the
# package layer and build container of roles whose build.sh starts from it (odoo-systemd).
# The recipe itself is odoo17/ (build.sh, run.sh, packages).
ODOO17_REPO=wsdeploy-lab-odoo17
ODOO17_NIGHTLY=https://nightly.odoo.com/17.0/nightly/src/odoo_17.0.latest.tar.gz

# Where the Odoo source comes from: LAB_ODOO_SOURCE (path or URL), else the vendored
# archive, else Odoo's nightly tarball. Sets ODOO_SRC (a local file after fetch_odoo_source).
odoo_source() {
    if [[ -n ${LAB_ODOO_SOURCE:-} ]]; then
        echo "$LAB_ODOO_SOURCE"
    elif [[ -f $VENDOR_DIR/odoo-17.0-min.tar.xz ]]; then
        (cd "$VENDOR_DIR" && echo "$(pwd)/odoo-17.0-min.tar.xz")
    else
        echo "$ODOO17_NIGHTLY"
    fi
}

# Sets ODOO_SRC to where the source is (a URL's download in CACHE_DIR), fetching nothing.
locate_odoo_source() {
    local src key
    src=$(odoo_source)
    if [[ $src =~ ^https?:// ]]; then
        key=$(printf '%s' "$src" | sha256sum | cut -c1-16)
        ODOO_SRC=$CACHE_DIR/odoo-source-$key.tar
    else
        ODOO_SRC=$src
    fi
}

fetch_odoo_source() {
    local src
    src=$(odoo_source)
    locate_odoo_source
    if [[ $src =~ ^https?:// ]]; then
        if [[ ! -s $ODOO_SRC ]]; then
            command -v curl >/dev/null || die "curl is needed to fetch $src (apt-get install curl)"
            mkdir -p "$CACHE_DIR"
            msg "fetching the Odoo source: $src"
            curl -fsSL --retry 2 -o "$ODOO_SRC.part" "$src" ||
                die "cannot fetch $src; set LAB_ODOO_SOURCE to a local Odoo 17 source tarball (or WSDEPLOY_VENDOR_DIR to a directory holding odoo-17.0-min.tar.xz)"
            mv "$ODOO_SRC.part" "$ODOO_SRC"
        fi
    else
        [[ -f $src ]] || die "Odoo source '$src' (LAB_ODOO_SOURCE) does not exist"
    fi
}

# The category stubs the trimmed archive needs (none for a full upstream tree).
odoo_stubs_dir() {
    if [[ -d $VENDOR_DIR/odoo-17.0-category-stubs && $(odoo_source) == */odoo-17.0-min.tar.xz ]]; then
        (cd "$VENDOR_DIR/odoo-17.0-category-stubs" && pwd)
    fi
}

# Debian packages of the Odoo image: the python3-* of debian/control's Depends plus
# odoo17/packages.
odoo17_packages() {
    tar -xOf "$ODOO_SRC" --wildcards --no-anchored 'debian/control' 2>/dev/null |
        awk '/^Depends:/ { on = 1; next } on && /^[A-Za-z-]+:/ { on = 0 } on' |
        grep -oE '\bpython3-[a-z0-9.+-]+' || die "no python3-* Depends in debian/control of $ODOO_SRC"
    grep -Ev '^[[:space:]]*(#|$)' "$LAB_DIR/odoo17/packages"
}

# The image's key: the source's bytes (or URL), the stubs and the recipe.
odoo17_key() {
    local src stubs
    src=$(odoo_source)
    stubs=$(odoo_stubs_dir)
    {
        if [[ $src =~ ^https?:// ]]; then echo "$src"; else sha256sum <"$src"; fi
        rootfs_key
        (cd "$LAB_DIR/odoo17" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        if [[ -n $stubs ]]; then (cd "$stubs" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); fi
        echo odoo17-recipe-1
    } | sha256sum | cut -c1-16
}

# Builds the real Odoo image once and caches it as a `docker save` tar (ODOO17_TAR):
# apt layer on this machine's network, then the source, the database (image build time,
# not `up` time), flattened into one layer without the host-only packages.
build_odoo17() {
    local key tag started=$SECONDS base_tag pkgs cid log stubs
    fetch_odoo_source
    key=$(odoo17_key)
    ODOO17_TAR=$CACHE_DIR/odoo17-$key.tar
    if [[ -s $ODOO17_TAR ]]; then
        msg "real Odoo image cached: $ODOO17_TAR"
        return
    fi
    build_odoo17_base
    base_tag=$ODOO17_BASE_TAG
    msg "real Odoo 17: source $(basename "$ODOO_SRC"), database odoo with -i bus"
    log=$(mktemp)
    cid=$(odoo17_setup_container "$base_tag" /bin/bash /opt/lab-odoo/build.sh)
    if ! docker start -a "$cid" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        docker rm -f "$cid" >/dev/null
        die "setting up the real Odoo (odoo17/build.sh) failed (log above)"
    fi
    grep -h 'initialised' "$log" >&2 || true
    tag=$ODOO17_REPO:$key
    docker export "$cid" | docker import \
        --change 'ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/lab-odoo"]' \
        --change 'EXPOSE 8069 8072' --change 'WORKDIR /var/lib/odoo' \
        --change "LABEL wsdeploy-lab.image=odoo17" - "$tag" >/dev/null
    docker rm "$cid" >/dev/null
    rm -f "$log"
    docker tag "$tag" "$ODOO17_REPO:latest"
    docker save -o "$ODOO17_TAR.part" "$ODOO17_REPO:latest"
    chmod 644 "$ODOO17_TAR.part"
    mv "$ODOO17_TAR.part" "$ODOO17_TAR"
    # Hosts load the tar; this engine does not need the image itself.
    docker rmi "$ODOO17_REPO:latest" "$tag" >/dev/null
    msg "built the real Odoo image $tag ($(du -m "$ODOO17_TAR" | cut -f1) MB saved in $ODOO17_TAR) in $((SECONDS - started)) s"
}

# The real Odoo image loaded once into an inner engine's storage and kept as a shared,
# read-only store (ODOO17_STORE, needs ODOO17_TAR and the loaded role's host image IMAGE):
# meta/ is that engine's /var/lib/docker after `docker load` with the image's layer
# directory left empty, layer/ the layer's files, layer-id the layer's directory name under
# overlay2/. A host copies meta/ (a few MB) into its own engine's storage and bind-mounts
# layer/ read-only in place (roles/odoo/start.sh); its containers' writes go to their own
# overlay upper directories as with `docker load`. Key: the image's key (which covers the
# rootfs, hence the inner dockerd's version and storage format).
build_odoo17_store() {
    local image=$1 key part started=$SECONDS
    key=$(printf '%s\n' "$(odoo17_key)" odoo17-store-1 | sha256sum | cut -c1-16)
    ODOO17_STORE=$CACHE_DIR/odoo17-store-$key
    if [[ -s $ODOO17_STORE/layer-id ]]; then
        msg "real Odoo store cached: $ODOO17_STORE"
        return
    fi
    part=$ODOO17_STORE.part.$$
    mkdir -p "$part/meta"
    msg "loading the real Odoo image once into $ODOO17_STORE"
    # shellcheck disable=SC2016 # expanded by the seed container's shell
    docker run --rm --network none "${PRIVILEGE_FLAGS[@]}" --cgroupns=private \
        -v "$ODOO17_TAR:/opt/lab/odoo17.tar:ro" -v "$part:/store" \
        --entrypoint /bin/bash "$image" -euc '
            dockerd --data-root /store/meta --storage-driver=overlay2 --iptables=false \
                --bridge=none --log-level=warn >/store/dockerd.log 2>&1 &
            for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
            docker load -q -i /opt/lab/odoo17.tar >/dev/null
            kill $! && wait $! || true
            layers=(/store/meta/image/overlay2/layerdb/sha256/*/cache-id)
            [[ ${#layers[@]} == 1 && -f ${layers[0]} ]] || { echo "expected one layer: ${layers[*]}"; exit 1; }
            id=$(cat "${layers[0]}")
            [[ $id =~ ^[0-9a-f]{64}$ && -d /store/meta/overlay2/$id/diff ]] || { echo "no layer directory for cache-id $id"; exit 1; }
            mv "/store/meta/overlay2/$id/diff" /store/layer
            mkdir -m 755 "/store/meta/overlay2/$id/diff"
            rm -rf /store/meta/containers/* /store/meta/network /store/meta/tmp/* /store/meta/runtimes /store/meta/containerd /store/dockerd.log
            echo "$id" >/store/layer-id' >&2 || {
        tail -n 20 "$part/dockerd.log" >&2 2>/dev/null || true
        rm -rf "$part"
        die "loading the real Odoo image into a store failed (log above)"
    }
    # Another `up` may have made the same store meanwhile: the first one stays.
    mv -T "$part" "$ODOO17_STORE" 2>/dev/null || rm -rf "$part"
    msg "real Odoo store ready in $((SECONDS - started)) s ($(du -sm "$ODOO17_STORE" | cut -f1) MB)"
}

# The tag of the real Odoo's package layer (needs ODOO_SRC).
odoo17_base_tag() {
    local pkgs
    mapfile -t pkgs < <(odoo17_packages)
    echo "$ODOO17_REPO-base:$(printf '%s\n' "$(rootfs_key)" "${pkgs[@]}" odoo17-base-1 | sha256sum | cut -c1-16)"
}

# The real Odoo's package layer (ODOO17_BASE_TAG): the lab rootfs + PostgreSQL + the
# python3-* packages, without the host-only packages; apt on this machine's network, cached.
build_odoo17_base() {
    local base_tag pkgs cid log
    build_rootfs
    if ! image_exists "$BASE_REPO:$(rootfs_key)"; then
        msg "docker import $ROOTFS_TAR -> $BASE_REPO:$(rootfs_key)"
        docker import "$ROOTFS_TAR" "$BASE_REPO:$(rootfs_key)" >/dev/null
    fi
    mapfile -t pkgs < <(odoo17_packages)
    base_tag=$(odoo17_base_tag)
    ODOO17_BASE_TAG=$base_tag
    log=$(mktemp)
    if image_exists "$base_tag"; then
        msg "real Odoo 17: packages cached in $base_tag"
    else
        msg "real Odoo 17: apt-get install ${#pkgs[@]} packages (PostgreSQL, python3-*; this machine's network)"
        cid=$(docker create --network host "$BASE_REPO:$(rootfs_key)" sh -c '
            printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
            apt-get update -q && DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -q --no-install-recommends "$@" &&
            DEBIAN_FRONTEND=noninteractive apt-get purge -y -q --auto-remove docker.io containerd runc openssh-server nginx nginx-common &&
            apt-get clean && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /usr/share/doc/* /usr/share/man/*' \
            sh "${pkgs[@]}")
        if ! docker start -a "$cid" >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            docker rm -f "$cid" >/dev/null
            die "installing the real Odoo's packages failed (log above)"
        fi
        docker commit --change "LABEL wsdeploy-lab.image=odoo17-base" "$cid" "$base_tag" >/dev/null
        docker rm "$cid" >/dev/null
    fi
    rm -f "$log"
}

# A stopped container of IMAGE (no network) that runs CMD... with the Odoo source unpacked
# in /opt/odoo.unpack, odoo17/ in /opt/lab-odoo and the category stubs in /opt/odoo-stubs
# (odoo17/build.sh installs them); prints its id.
odoo17_setup_container() {
    local image=$1 cid unpack stubs
    shift
    unpack=$(mktemp -d)
    tar -C "$unpack" -xf "$ODOO_SRC" || { rm -rf "$unpack"; die "cannot unpack the Odoo source $ODOO_SRC"; }
    cid=$(docker create --network none "$image" "$@")
    docker cp "$unpack/." "$cid:/opt/odoo.unpack/" >&2
    rm -rf "$unpack"
    docker cp "$LAB_DIR/odoo17/." "$cid:/opt/lab-odoo/" >&2
    stubs=$(odoo_stubs_dir)
    if [[ -n $stubs ]]; then docker cp "$stubs/." "$cid:/opt/odoo-stubs/" >&2; fi
    echo "$cid"
}
