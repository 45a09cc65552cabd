#!/bin/sh
# Rebuilds the nodemon backend from its requirements.txt and restarts it (the lab's
# `./rebuild.sh`). The environment is a function of the requirements file's bytes: it is
# built once per content into /opt/nodemon/venvs/<sha256>, offline from /opt/wheelhouse,
# then /opt/nodemon/venv points at it and supervisor restarts the backend on it.
# A requirement the wheelhouse cannot satisfy fails here, before the backend is touched.
#   --no-restart   build and switch the environment only (image build)
set -eu
root=/opt/nodemon
req=$root/backend/requirements.txt
wheelhouse=/opt/wheelhouse
sum=$(sha256sum <"$req" | cut -c1-16)
env_dir=$root/venvs/$sum
if [ ! -e "$env_dir/.complete" ]; then
    rm -rf "$env_dir"
    echo "rebuild: installing $req into $env_dir"
    python3 -m venv "$env_dir"
    if ! "$env_dir/bin/pip" install --quiet --no-index --find-links "$wheelhouse" \
        --disable-pip-version-check -r "$req"; then
        rm -rf "$env_dir"
        echo "rebuild: pip cannot install $req from $wheelhouse; the backend was not restarted" >&2
        exit 1
    fi
    touch "$env_dir/.complete"
fi
ln -sfn "$env_dir" "$root/venv.new"
mv -T "$root/venv.new" "$root/venv"
[ "${1:-}" = --no-restart ] && exit 0
supervisorctl restart nodemon-backend || true
if ! supervisorctl status nodemon-backend | grep -q RUNNING; then
    supervisorctl status nodemon-backend >&2 || true
    tail -n 20 /var/log/nodemon/backend.log >&2
    echo "rebuild: the backend did not stay up after the restart" >&2
    exit 1
fi
echo "rebuild: backend running on $(readlink "$root/venv")"
