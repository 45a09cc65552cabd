# The same change as plans/odoo-websocket.yml, written the way a pyinfra user would:
# files.block for the nginx blocks, files.line for the two odoo.conf keys of [options]
# (pyinfra has no ini operation), nginx -t + reload and an Odoo restart only when
# something changed, then the same checks as the plan's verify steps (also only when
# something changed, as wsdeploy does). Backups of every changed file, like wsdeploy's.
#
# Host data (nginx_conf, site_conf, odoo_conf, longpolling_port, public_host, the
# commands, odoo_runtime, odoo_container) comes from the inventory bench/run writes.
# odoo_runtime picks the checks the plan runs for that runtime: docker (full lab hosts:
# `docker port`) or process (light hosts: the stand-in is a plain process restarted by
# odoo_restart_cmd; `ss` for the listening sockets).

from pyinfra import host
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

d = host.data
odoo_version = "17.0-3"
odoo_http_port = 8069
websocket_url = f"ws://{d.public_host}/websocket"

nginx_map = files.block(
    name="map $http_upgrade $connection_upgrade in http {}",
    path=d.nginx_conf,
    marker="\t# {mark} websocket map",
    line=r"^http \{",
    after=True,
    backup=True,
    content=(
        "\tmap $http_upgrade $connection_upgrade {\n"
        "\t    default upgrade;\n"
        "\t    ''      close;\n"
        "\t}"
    ),
)

nginx_upstream = files.block(
    name="upstream backend_odoo_longpolling",
    path=d.site_conf,
    marker="# {mark} websocket upstream",
    line=r"^server \{",
    before=True,
    backup=True,
    content=(
        "upstream backend_odoo_longpolling {\n"
        f"    server 127.0.0.1:{d.longpolling_port};\n"
        "}"
    ),
)

nginx_location = files.block(
    name="location /websocket in the server block",
    path=d.site_conf,
    marker="    # {mark} websocket location",
    line=r"^[ \t]*location [^a-z ]+ [{]",
    before=True,
    backup=True,
    content=(
        "    location /websocket {\n"
        "        proxy_pass http://backend_odoo_longpolling;\n"
        "        proxy_http_version 1.1;\n"
        "        proxy_set_header Upgrade $http_upgrade;\n"
        "        proxy_set_header Connection $connection_upgrade;\n"
        "        proxy_set_header Host $host;\n"
        "        proxy_set_header Origin $http_origin;\n"
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "        proxy_set_header X-Forwarded-Proto $scheme;\n"
        "        proxy_buffering off;\n"
        "        proxy_read_timeout 3600s;\n"
        "    }"
    ),
)

nginx_changed = any_changed(nginx_map, nginx_upstream, nginx_location)

server.shell(
    name="nginx -t",
    commands=[d.nginx_test_cmd],
    _if=nginx_changed,
)
server.shell(
    name="reload nginx",
    commands=[d.nginx_reload_cmd],
    _if=nginx_changed,
)

proxy_mode = files.line(
    name="proxy_mode in [options] of odoo.conf",
    path=d.odoo_conf,
    line=r"^\s*;?\s*proxy_mode\s*=",
    replace="proxy_mode = True",
    backup=True,
)
ws_url = files.line(
    name="websocket_url in [options] of odoo.conf",
    path=d.odoo_conf,
    line=r"^\s*;?\s*websocket_url\s*=",
    replace=f"websocket_url = {websocket_url}",
    backup=True,
)

server.shell(
    name="restart Odoo",
    commands=[d.odoo_restart_cmd],
    _if=any_changed(proxy_mode, ws_url),
)

anything_changed = any_changed(nginx_map, nginx_upstream, nginx_location, proxy_mode, ws_url)

# One WebSocket handshake through nginx; prints the status line's first 12 bytes.
ws_request = (
    f"GET /websocket?version={odoo_version} HTTP/1.1\\r\\nHost: {d.public_host}\\r\\n"
    "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
)


def handshake(extra_header, expect, port=80):
    return (
        f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}; "
        f'printf "{ws_request}{extra_header}\\r\\n" >&3; '
        f'timeout 5 head -c 12 <&3\' | grep -qx "HTTP/1.1 {expect}"'
    )


server.shell(
    name="Odoo answers /web/health",
    commands=[f"curl -sf --max-time 5 http://127.0.0.1:{odoo_http_port}/web/health"],
    _if=anything_changed,
    _retries=30,
    _retry_delay=1,
)
server.shell(
    name="Odoo accepts WebSocket handshakes on its evented port",
    commands=[
        handshake(f"Origin: http://{d.public_host}\\r\\n", 101, port=d.longpolling_port)
    ],
    _if=anything_changed,
    _retries=30,
    _retry_delay=1,
)
if d.odoo_runtime == "docker":
    server.shell(
        name="longpolling port published on 127.0.0.1 only",
        commands=[
            f"docker port {d.odoo_container} {d.longpolling_port}"
            f" | grep -qF 127.0.0.1:{d.longpolling_port}"
        ],
        _if=anything_changed,
        _retries=5,
        _retry_delay=1,
    )
server.shell(
    name="a handshake without Origin is refused",
    commands=[handshake("", 400)],
    _if=anything_changed,
    _retries=15,
    _retry_delay=1,
)
server.shell(
    name="websocket handshake through nginx returns 101",
    commands=[handshake(f"Origin: http://{d.public_host}\\r\\n", 101)],
    _if=anything_changed,
    _retries=15,
    _retry_delay=1,
)
# Warn-only in the plan (a warning, never a failure): who can reach Odoo's ports directly.
if d.odoo_runtime == "docker":
    server.shell(
        name="Odoo's HTTP port is not published on every address (warn only)",
        commands=[f"docker port {d.odoo_container} {odoo_http_port} | grep -qv 0.0.0.0: || true"],
        _if=anything_changed,
    )
else:
    server.shell(
        name="Odoo's ports listen on the loopback only (warn only)",
        commands=[
            "ss -Hltn | awk '{ print $4 }'"
            f" | grep -E ':({odoo_http_port}|{d.longpolling_port})$'"
            " | grep -Ev '^(127\\.[0-9.]+|\\[::1\\]):' || true"
        ],
        _if=anything_changed,
    )
