# shellcheck shell=bash
# Role fastapi's controller side, sourced by tests/lab/lab (msg, die, CACHE_DIR and ROLE_DIR
# come from it): the backend's wheelhouse, downloaded here (a lab host reaches no index) and
# copied into the image as /opt/lab/wheelhouse (setup.sh moves it to /opt/wheelhouse).

# `pip download` on this machine for Debian 12's CPython 3.11, every distribution pinned in
# roles/fastapi/wheels.txt; cached by that file's hash.
build_wheelhouse() {
    local req=$ROLE_DIR/wheels.txt key dir arch
    key=$(sha256sum <"$req" | cut -c1-16)
    dir=$CACHE_DIR/wheelhouse-$key
    WHEELHOUSE=$dir
    if [[ -f $dir/.complete ]]; then
        msg "wheelhouse cached: $dir"
        return
    fi
    if ! python3 -m pip --version >/dev/null 2>&1; then
        die "python3 with pip is needed to download the fastapi role's wheels (apt-get install python3-pip)"
    fi
    arch=$(uname -m)
    mkdir -p "$CACHE_DIR"
    rm -rf "$dir.part"
    msg "pip download roles/fastapi/wheels.txt -> $dir"
    if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --implementation cp --python-version 3.11 --abi cp311 --platform "manylinux_2_17_$arch" \
        --platform "manylinux2014_$arch" --platform "manylinux_2_28_$arch" --platform "manylinux_2_35_$arch" \
        -d "$dir.part" -r "$req"; then
        rm -rf "$dir.part"
        die "pip download of roles/fastapi/wheels.txt failed (output above)"
    fi
    touch "$dir.part/.complete"
    mv "$dir.part" "$dir"
}

role_artifacts() {
    build_wheelhouse
    echo "$WHEELHOUSE=/opt/lab/wheelhouse"
}
