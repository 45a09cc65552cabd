set -u
LC_ALL=C; export LC_ALL
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
B=; { IFS= read -r B < /proc/sys/kernel/random/uuid; } 2>/dev/null
[ -n "$B" ] || B=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
[ -n "$B" ] || { echo 'wsdeploy: no random source on the host' >&2; exit 1; }
B=--WSD-$B
printf 'WSD-GATHER %s\n' "$B"
set --
wsd_n=0 wsd_users=
wsd_owner() { eval "wsd_u=\${wsd_c$1:-0:0}"; wsd_g=${wsd_u#*:}; wsd_u=${wsd_u%%:*}; shift; wsd_as "$@"; }
printf '\n%s T\n' "$B"
if [ -n "$wsd_users" ]; then wsd_i=0; while [ $wsd_i -lt $wsd_n ]; do wsd_i=$((wsd_i + 1)); wsd_owner $wsd_i stat -L --printf '%a %u %g %s %i %.9Y %.9Z %n\0' -- "$1"; shift; done; fi
[ $# -eq 0 ] || stat -L --printf '%a %u %g %s %i %.9Y %.9Z %n\0' -- "$@"
printf '\n%s J\n' "$B"
wsd_runs='/var/lib/wsdeploy/runs' wsd_ix='/var/lib/wsdeploy/runs/.in_progress'
wsd_in_progress() { [ -f "$1" ] && IFS= read -r st < "$1" && [ "$st" = in_progress ]; }
if [ "$wsd_ix/.indexed" -nt "$wsd_runs" ]; then
  for r in "$wsd_ix"/*; do r=${r##*/}; if wsd_in_progress "$wsd_runs/$r/state"; then printf '%s\n' "$r"; fi; done
else
  for r in "$wsd_runs"/*/state; do
    if wsd_in_progress "$r"; then r=${r%/state}; printf '%s\n' "${r##*/}"; fi
  done
fi
exit 0
