#!/bin/sh
# shellcheck disable=SC2016 # the single quotes are the printed command's text, expanded on the host
# Prints a command for bench/floor's `floor --command`: the apply floor's work (bench/run's
# apply_work(), light fleet); with WRITES=1 also the files a first apply of
# plans/odoo-websocket.yml writes on a host, in the same directories and order (journal
# entry, pre-images, dated backups, state, temp files and their renames; the nginx files
# are written beside the real ones, never over them); with SYNC=1 also that apply's `sync`
# processes on the same files and directories (7 processes, 24 fsyncs); with MERGED=1
# (and SYNC=1) the renamed directories flushed by the commit's first `sync` instead
# (5 processes, 24 fsyncs). See bench/results/2026-12-06-first-apply-flushes.md.
S() { if [ "${SYNC:-0}" = 1 ]; then printf 'sync -- %s; ' "$*"; fi; }
w() { if [ "${WRITES:-0}" = 1 ]; then printf '%s; ' "$*"; fi; }
work='nginx -t 2>/dev/null && nginx -s reload 2>/dev/null && /opt/lab-light/odoo-restart >/dev/null && until curl -sf -o /dev/null http://127.0.0.1:8069/web/health; do sleep 0.1; done'
if [ "${WRITES:-0}" != 1 ]; then printf '%s\n' "$work"; exit 0; fi
printf 'set -e; n=$(date +%%s%%N); r=/var/lib/wsdeploy/fb/$n; i=/var/lib/wsdeploy/fb/.ip; '
w 'mkdir -p $r/pre $i; chmod 700 $r $i'
w 'cp -p /etc/nginx/nginx.conf $r/pre/0; cp -p /etc/nginx/sites-available/odoo.conf $r/pre/1; cp -p /etc/opticserp/odoo.conf $r/pre/2'
w 'echo "{\"run_id\":\"$n\"}" > $r/manifest.json'
w 'cp -p /etc/nginx/nginx.conf /etc/nginx/fb.bk.$n; cp -p /etc/nginx/sites-available/odoo.conf /etc/nginx/sites-available/fb.bk.$n; cp -p /etc/opticserp/odoo.conf /etc/opticserp/fb.bk.$n'
w ': > $i/$n; printf "in_progress\n" > $r/state.tmp'
S '$r/pre/0 $r/pre/1 $r/pre/2 $r/manifest.json $r/pre /etc/nginx/fb.bk.$n /etc/nginx /etc/nginx/sites-available/fb.bk.$n /etc/nginx/sites-available /etc/opticserp/fb.bk.$n /etc/opticserp $r/state.tmp $r $i/$n $i'
w 'mv -f $r/state.tmp $r/state'
w 'cp /etc/nginx/nginx.conf /etc/nginx/.fbt.$n; cp /etc/nginx/sites-available/odoo.conf /etc/nginx/sites-available/.fbt.$n'
S '$r /etc/nginx/.fbt.$n /etc/nginx/sites-available/.fbt.$n'
w 'mv -f /etc/nginx/.fbt.$n /etc/nginx/fb.new.$n; mv -f /etc/nginx/sites-available/.fbt.$n /etc/nginx/sites-available/fb.new.$n'
[ "${MERGED:-0}" = 1 ] || S '/etc/nginx /etc/nginx/sites-available'
printf 'nginx -t 2>/dev/null && nginx -s reload 2>/dev/null; '
w 'cp /etc/opticserp/odoo.conf /etc/opticserp/.fbt.$n'
S '/etc/opticserp/.fbt.$n'
w 'mv -f /etc/opticserp/.fbt.$n /etc/opticserp/fb.new.$n'
[ "${MERGED:-0}" = 1 ] || S '/etc/opticserp'
printf '/opt/lab-light/odoo-restart >/dev/null && until curl -sf -o /dev/null http://127.0.0.1:8069/web/health; do sleep 0.1; done; '
w 'printf "committed\n" > $r/state.tmp'
if [ "${MERGED:-0}" = 1 ]; then S '/etc/nginx /etc/nginx/sites-available /etc/opticserp $r/state.tmp'; else S '$r/state.tmp'; fi
w 'mv -f $r/state.tmp $r/state'
S '$r'
w 'rm -f $i/$n'
printf '\n'
