#!/bin/bash
# Runs on a lab host (piped through ssh by `lab check`): the lab's own acceptance checks.
# Prints one "ok NAME" or "FAIL NAME: detail" line per check.
set -u
KEY=dGhlIHNhbXBsZSBub25jZQ==
ACCEPT=s3pPLMBiTxaQ9kYGzzhZRbK+xOo= # RFC 6455 section 1.3

handshake() {
    curl -s -i --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$@" http://127.0.0.1:8072/websocket
    return 0
}
nginx_config_is_valid() { nginx -t; }
standin_port_8072_is_loopback_only() { docker port opticserp_odoo 8072/tcp | grep -x '127.0.0.1:8072'; }
standin_port_8069_is_published() { docker port opticserp_odoo 8069/tcp | grep -x '0.0.0.0:8069'; }
handshake_without_origin_is_refused() {
    local out
    out=$(handshake)
    echo "$out"
    grep -q '^HTTP/1.1 400' <<<"$out" && grep -q 'Empty or missing header(s): origin' <<<"$out"
}
handshake_with_origin_switches_protocols() {
    local out
    out=$(handshake -H 'Origin: http://lab' --max-time 0.5)
    echo "$out"
    grep -q '^HTTP/1.1 101' <<<"$out" && grep -q "^Sec-WebSocket-Accept: $ACCEPT" <<<"$out"
}
nginx_serves_odoo() { curl -fsS --max-time 2 "http://$(hostname -I | awk '{ print $1 }')/web/health" | grep -F '"pass"'; }
no_systemctl() { ! command -v systemctl; }
odoo_restart_works() {
    local before after
    before=$(docker inspect -f '{{.State.StartedAt}}' opticserp_odoo)
    docker restart opticserp_odoo || return 1
    after=$(docker inspect -f '{{.State.StartedAt}}' opticserp_odoo)
    echo "StartedAt $before -> $after"
    [[ $before != "$after" ]] || return 1
    for _ in $(seq 1 50); do
        curl -fsS --max-time 1 http://127.0.0.1:8069/web/health && return 0
        sleep 0.1
    done
    return 1
}
deploy_user_has_sudo() { su deploy -c 'sudo -n true'; }

for check in nginx_config_is_valid standin_port_8072_is_loopback_only standin_port_8069_is_published \
    handshake_without_origin_is_refused handshake_with_origin_switches_protocols nginx_serves_odoo \
    no_systemctl odoo_restart_works deploy_user_has_sudo; do
    if out=$("$check" 2>&1); then
        echo "ok $check"
    else
        echo "FAIL $check: $(tail -c 400 <<<"$out" | tr '\n' ' ')"
    fi
done
