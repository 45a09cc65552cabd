set -u
for d in /var/lib/wsdeploy/runs/*/; do
  [ -f "$d/state" ] || continue
  id=${d%/}; id=${id##*/}; st=
  IFS= read -r st < "$d/state" || :
  printf 'RUN %s %s ' "$id" "$st"
  base64 -w0 < "$d/manifest.json" 2>/dev/null
  echo
done
nl=$(printf '\nx'); nl=${nl%x}
r=$(readlink -f -- '/etc/nginx/sites-enabled/odoo.conf' 2>/dev/null) || r='/etc/nginx/sites-enabled/odoo.conf'
for b in "$r".backup-*; do case $b in *"$nl"*) continue;; esac; [ -e "$b" ] && printf 'BACKUP %s\n' "$b"; done
r=$(readlink -f -- '/opt/bench/sites/it'\''s common.json' 2>/dev/null) || r='/opt/bench/sites/it'\''s common.json'
for b in "$r".backup-*; do case $b in *"$nl"*) continue;; esac; [ -e "$b" ] && printf 'BACKUP %s\n' "$b"; done
[ -d /var/lib/wsdeploy/backups ] && find /var/lib/wsdeploy/backups -type f ! -path "*$nl*" | sort | sed 's/^/BACKUP /'
exit 0
