set -u
wsd_sd_why=
wsd_sd_judge() {
  wsd_o=${wsd_m% *}; wsd_m=${wsd_m#* }
  if [ "$wsd_o" != 0 ] && [ ! -O "$wsd_p" ]; then wsd_sd_why="$wsd_p is owned by uid $wsd_o, neither root nor the user the run runs as (uid $(id -u))"
  elif [ $((0$wsd_m & 18)) = 0 ]; then :
  elif [ "$wsd_p" = '/var/lib/wsdeploy' ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m)"
  elif [ $((0$wsd_m & 512)) = 0 ] || [ "$wsd_o" != 0 ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m) without being root's and sticky"
  fi
}
wsd_sd_check() {
  wsd_sd_end=
  for wsd_p in '/var' '/var/lib' '/var/lib/wsdeploy'; do
    if [ -L "$wsd_p" ]; then wsd_sd_end="$wsd_p is a symbolic link"; break
    elif [ ! -e "$wsd_p" ]; then break
    elif [ ! -d "$wsd_p" ]; then wsd_sd_end="$wsd_p is not a directory"; break
    fi
    set -- "$@" "$wsd_p"
  done
  wsd_sd_all=
  if [ $# != 0 ] && false; then
    while read -r wsd_a _ wsd_c; do wsd_sd_all="$wsd_sd_all$wsd_a $wsd_c/"; done <<WSD_SD_SEEN
$wsd_s
WSD_SD_SEEN
  elif [ $# != 0 ]; then wsd_sd_all=$(stat --printf '%u %a/' -- "$@" 2>/dev/null) || wsd_sd_all=
  fi
  for wsd_p do
    if [ -n "$wsd_sd_all" ]; then wsd_m=${wsd_sd_all%%/*}; wsd_sd_all=${wsd_sd_all#*/}
    else wsd_m=$(stat -c '%u %a' -- "$wsd_p") || wsd_m='? 0'; fi
    wsd_sd_judge
    [ -z "$wsd_sd_why" ] || return 0
  done
  wsd_sd_why=$wsd_sd_end
}
wsd_sd_check
[ -z "$wsd_sd_why" ] || { printf 'WSD-UNSAFE-STATE %s\n' "$wsd_sd_why" >&2; exit 92; }
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
