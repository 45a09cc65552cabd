# Transcription of what remote::gather_script (src/remote.rs) sends for plans/odoo-websocket.yml:
# the three files (readlink, base64 of the path, stat, base64 of the content, each in
# its own subshell) and the `nginx -T` dump, then the journal scan. Used by decompose.
set -u
LC_ALL=C; export LC_ALL
b64() { base64 -w0 2>/dev/null; }
r=$(readlink -f -- '/etc/nginx/nginx.conf' 2>/dev/null) || r='/etc/nginx/nginx.conf'
[ -n "$r" ] || r='/etc/nginx/nginx.conf'
rb=$(printf '%s' "$r" | b64)
if [ -f "$r" ]; then
  m=$(stat -c '%a %u %g' -- "$r") && c=$(b64 < "$r") && printf 'F 0 present %s %s %s\n' "$m" "$rb" "${c:--}" || printf 'F 0 unreadable - - - %s -\n' "$rb"
elif [ -e "$r" ]; then printf 'F 0 other - - - %s -\n' "$rb"
else printf 'F 0 absent - - - %s -\n' "$rb"; fi
r=$(readlink -f -- '/etc/nginx/sites-available/odoo.conf' 2>/dev/null) || r='/etc/nginx/sites-available/odoo.conf'
[ -n "$r" ] || r='/etc/nginx/sites-available/odoo.conf'
rb=$(printf '%s' "$r" | b64)
if [ -f "$r" ]; then
  m=$(stat -c '%a %u %g' -- "$r") && c=$(b64 < "$r") && printf 'F 1 present %s %s %s\n' "$m" "$rb" "${c:--}" || printf 'F 1 unreadable - - - %s -\n' "$rb"
elif [ -e "$r" ]; then printf 'F 1 other - - - %s -\n' "$rb"
else printf 'F 1 absent - - - %s -\n' "$rb"; fi
r=$(readlink -f -- '/etc/opticserp/odoo.conf' 2>/dev/null) || r='/etc/opticserp/odoo.conf'
[ -n "$r" ] || r='/etc/opticserp/odoo.conf'
rb=$(printf '%s' "$r" | b64)
if [ -f "$r" ]; then
  m=$(stat -c '%a %u %g' -- "$r") && c=$(b64 < "$r") && printf 'F 2 present %s %s %s\n' "$m" "$rb" "${c:--}" || printf 'F 2 unreadable - - - %s -\n' "$rb"
elif [ -e "$r" ]; then printf 'F 2 other - - - %s -\n' "$rb"
else printf 'F 2 absent - - - %s -\n' "$rb"; fi
o=$( { sh -c 'nginx -T' 2>&1; printf '\nWSD-RC %s\n' "$?"; } | b64 )
printf 'D 0 %s\n' "${o:--}"
for st in /var/lib/wsdeploy/runs/*/state; do
  [ -f "$st" ] || continue
  [ "$(cat "$st")" = in_progress ] && printf 'J %s\n' "$(basename "$(dirname "$st")")"
done
exit 0
