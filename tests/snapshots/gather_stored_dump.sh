set -u
LC_ALL=C; export LC_ALL
wsd_unsafe() { printf 'WSD-UNSAFE %s\n' "$wsd_why" >&2; exit 91; }
wsd_agent() {
  wsd_why=; wsd_u=0; wsd_g=0; wsd_o=; wsd_f=$1; wsd_p=${1%/*}
  set --
  while [ -n "$wsd_p" ]; do [ -d "$wsd_p" ] && set -- "$wsd_p" "$@"; wsd_p=${wsd_p%/*}; done
  set -- / "$@"
  wsd_nd=$#
  if [ -e "$wsd_f" ] || [ -L "$wsd_f" ]; then set -- "$@" "$wsd_f"; fi
  wsd_looked "$@" || wsd_s=$(stat -c '%u %g %a' -- "$@") || { wsd_why="cannot examine $wsd_f or its directories"; return 1; }
  wsd_i=0
  while read -r wsd_du wsd_dg wsd_m; do
    wsd_i=$((wsd_i + 1))
    if [ $wsd_i -gt $wsd_nd ]; then wsd_o=$wsd_du; wsd_g=$wsd_dg; break; fi
    wsd_g=$wsd_dg
    eval "wsd_d=\${$wsd_i}"
    if [ "$wsd_du" != 0 ]; then
      if [ "$wsd_u" = 0 ] || [ "$wsd_u" = "$wsd_du" ]; then wsd_u=$wsd_du
      else wsd_why="$wsd_d belongs to uid $wsd_du inside a directory of uid $wsd_u"; return 1; fi
    fi
    if [ $((0$wsd_m & 022)) != 0 ] && ! { [ $((0$wsd_m & 01000)) != 0 ] && [ "$wsd_du" = 0 ] && [ $wsd_i -lt $wsd_nd ]; }; then
      wsd_why="$wsd_d is writable by other users (mode $wsd_m)"; return 1
    fi
  done <<WSD_AGENT_END
$wsd_s
WSD_AGENT_END
  if [ -n "$wsd_o" ] && [ "$wsd_u" != 0 ] && [ "$wsd_o" != "$wsd_u" ]; then
    wsd_why="$wsd_f belongs to uid $wsd_o but its directory is controlled by uid $wsd_u"; return 1
  fi
  [ "$wsd_u" = 0 ] || wsd_primary
}
wsd_seen=
wsd_nl='
'
wsd_key() { return 1; }
wsd_table() {
  wsd_k=0; while [ $wsd_k -lt "$1" ]; do wsd_k=$((wsd_k + 1)); unset "wsd_t$wsd_k"; done
  wsd_ifs=$IFS; IFS=$wsd_nl; set -f
  for wsd_r in $wsd_seen; do
    wsd_key "${wsd_r%%'	'*}" && eval "wsd_t$wsd_k=\${wsd_r#*'	'}"
  done
  IFS=$wsd_ifs; set +f
}
wsd_record() {
  [ -n "${wsd_seen:-}" ] && wsd_key "$1" && eval "wsd_lv=\${wsd_t$wsd_k-}" && [ -n "$wsd_lv" ]
}
wsd_looked() {
  wsd_s=
  for wsd_lp do
    wsd_record "$wsd_lp" || return 1
    wsd_s=$wsd_s${wsd_lv%%'	'*}$wsd_nl
  done
  [ -n "$wsd_s" ] || return 1
  wsd_s=${wsd_s%"$wsd_nl"}
}
wsd_link() {
  case $1 in *\\*) return 1 ;; esac
  wsd_record "$1" || return 1
  case $wsd_lv in *'	'"$1 -> "?*) ;; *) return 1 ;; esac
  wsd_lv=${wsd_lv#*'	'"$1 -> "}
  case $wsd_lv in *[!A-Za-z0-9._/+@:-]*) return 1 ;; esac
  wsd_ct=$wsd_lv
}
wsd_primary() {
  wsd_g=$(getent passwd "$wsd_u") || { wsd_why="uid $wsd_u, who controls $wsd_f, has no passwd entry"; return 1; }
  wsd_g=${wsd_g#*:*:*:}; wsd_g=${wsd_g%%:*}
  case $wsd_g in ''|*[!0-9]*|0) wsd_why="uid $wsd_u, who controls $wsd_f, has no primary group other than root"; return 1 ;; esac
}
wsd_chain() {
  wsd_cr=; wsd_cn=0; wsd_clu=; wsd_clp=; wsd_crest=$1
  while [ -n "$wsd_crest" ]; do
    wsd_crest=${wsd_crest#/}; wsd_cc=${wsd_crest%%/*}; wsd_crest=${wsd_crest#"$wsd_cc"}
    case $wsd_cc in ''|.) continue ;; ..) wsd_cr=${wsd_cr%/*}; continue ;; esac
    if [ ! -L "$wsd_cr/$wsd_cc" ]; then wsd_cr=$wsd_cr/$wsd_cc; continue; fi
    wsd_cn=$((wsd_cn + 1))
    [ $wsd_cn -le 40 ] || { wsd_why="$1: too many levels of symbolic links"; return 1; }
    wsd_agent "$wsd_cr/$wsd_cc" || return 1
    wsd_cl=$wsd_u; [ "$wsd_cl" != 0 ] || wsd_cl=${wsd_o:-0}
    if [ "$wsd_cl" != 0 ]; then
      if [ -z "$wsd_clu" ]; then wsd_clu=$wsd_cl; wsd_clp=$wsd_cr/$wsd_cc
      elif [ "$wsd_cl" != "$wsd_clu" ]; then wsd_chain_foreign; return 1; fi
    fi
    if ! wsd_link "$wsd_cr/$wsd_cc"; then
      wsd_ct=$(readlink -- "$wsd_cr/$wsd_cc" && echo x) || { wsd_why="cannot read the symlink $wsd_cr/$wsd_cc"; return 1; }
      wsd_ct=${wsd_ct%?x}
    fi
    case $wsd_ct in /*) wsd_cr= ;; esac
    wsd_crest=$wsd_ct$wsd_crest
  done
  wsd_real=${wsd_cr:-/}
  wsd_agent "$wsd_real" || return 1
  [ -z "$wsd_clu" ] || [ "$wsd_u" = "$wsd_clu" ] || { wsd_chain_foreign; return 1; }
}
wsd_chain_foreign() { wsd_why="$wsd_clp is a symlink uid $wsd_clu controls, pointing at a file it does not control"; }
wsd_as() {
  if [ "$wsd_u" = 0 ]; then "$@"; return; fi
  [ -n "${wsd_me:-}" ] || wsd_me=$(id -u)
  if [ "$wsd_me" != 0 ]; then "$@"; else setpriv --reuid="$wsd_u" --regid="$wsd_g" --init-groups -- "$@"; fi
}
WSD_PUT='set -eu; umask 077; d=${1%/*}; d=${d:-/}; [ -d "$d" ] || mkdir -p -- "$d"
if [ -n "${4:-}" ]; then t=$d/.wsdeploy.$4; (set -C; : > "$t"); else t=$(mktemp "$d/.wsdeploy.XXXXXX"); fi; trap '\''rm -f -- "$t"'\'' EXIT
cat > "$t"
if [ -n "$2" ]; then chmod "$2" -- "$t"; elif [ -e "$1" ]; then chgrp --reference="$1" -- "$t" 2>/dev/null || :; chmod --reference="$1" -- "$t"; else chmod 644 -- "$t"; fi
sync -- "$t" 2>/dev/null || sync
case ${3:-} in
  "") ;;
  absent) if [ -e "$1" ] || [ -L "$1" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit 90; fi ;;
  *) h=$(sha256sum < "$1") || h=; if [ "${h%% *}" != "$3" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit 90; fi ;;
esac
mv -f -- "$t" "$1"; trap - EXIT
sync -- "$d" 2>/dev/null || sync'
wsd_cas() {
  if [ "$2" = absent ]; then [ ! -e "$1" ] && [ ! -L "$1" ]
  else wsd_h=$(sha256sum < "$1" 2>/dev/null) && [ "${wsd_h%% *}" = "$2" ]; fi
}
wsd_mine() {
  [ "$2" = any ] && return 0
  wsd_h=$(sha256sum < "$1" 2>/dev/null) || return 1
  case " $2 " in *" ${wsd_h%% *} "*) return 0 ;; esac
  return 1
}
wsd_seen="
$(QUOTING_STYLE=escape stat --printf '%n\t%u %g %a\t%N\n' -- '/' '/etc' '/etc/nginx' '/etc/nginx/sites-enabled' '/etc/nginx/sites-enabled/odoo.conf' '/opt' '/opt/bench' '/opt/bench/sites' '/opt/bench/sites/it'\''s common.json' '/var' '/var/lib' '/var/lib/wsdeploy' '/etc/nginx/sites-available' '/etc/nginx/sites-available/odoo.conf' 2>/dev/null || :)
"
wsd_key() { case $1 in '/') wsd_k=1 ;; '/etc') wsd_k=2 ;; '/etc/nginx') wsd_k=3 ;; '/etc/nginx/sites-enabled') wsd_k=4 ;; '/etc/nginx/sites-enabled/odoo.conf') wsd_k=5 ;; '/opt') wsd_k=6 ;; '/opt/bench') wsd_k=7 ;; '/opt/bench/sites') wsd_k=8 ;; '/opt/bench/sites/it'\''s common.json') wsd_k=9 ;; '/var') wsd_k=10 ;; '/var/lib') wsd_k=11 ;; '/var/lib/wsdeploy') wsd_k=12 ;; '/etc/nginx/sites-available') wsd_k=13 ;; '/etc/nginx/sites-available/odoo.conf') wsd_k=14 ;; *) return 1 ;; esac; }
wsd_table 14
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
  if [ $# != 0 ] && wsd_looked "$@"; then
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
printf '\n%s R\n' "$B"
wsd_ss=
for f in '/etc/nginx/sites-enabled/odoo.conf' '/opt/bench/sites/it'\''s common.json'; do
  if ! wsd_chain "$f"; then readlink -m -z -- "$f"; wsd_ss="$wsd_ss$(printf 'unsafe %s' "$wsd_why" | tr '\n' ' ')$wsd_nl"; continue; fi
  case $f in /*) printf '%s\0' "$wsd_real" ;; *) readlink -m -z -- "$f" ;; esac
  if [ "$wsd_u" != 0 ]; then wsd_st=$(wsd_as sh -c 'if [ -f "$1" ]; then if [ -r "$1" ]; then echo present; else echo unreadable; fi; elif [ -e "$1" ]; then echo other; else echo absent; fi' sh "$f")
  elif [ -f "$f" ]; then if [ -r "$f" ]; then wsd_st=present; else wsd_st=unreadable; fi
  elif [ -e "$f" ]; then wsd_st=other
  else wsd_st=absent; fi
  wsd_ss=$wsd_ss$wsd_st$wsd_nl
  [ "$wsd_st" = present ] || continue
  set -- "$@" "$f"; wsd_n=$((wsd_n + 1)); eval "wsd_c$wsd_n=\$wsd_u:\$wsd_g"
  [ "$wsd_u" = 0 ] || wsd_users=1
done
printf '\n%s S\n%s' "$B" "$wsd_ss"
wsd_stored_0=; if [ -f '/var/lib/wsdeploy/dump/b10ea138bda1d095' ] && [ -f '/var/lib/wsdeploy/dump/b10ea138bda1d095'.paths ]; then set -- "$@" '/var/lib/wsdeploy/dump/b10ea138bda1d095'; wsd_stored_0=1; fi
printf '\n%s C\n' "$B"
if [ -z "$wsd_users" ]; then [ $# -eq 0 ] || head -q -c 8388609 -- "$@"
else wsd_i=0; for f in "$@"; do wsd_i=$((wsd_i + 1)); wsd_owner $wsd_i head -c 8388609 -- "$f"; done; fi
[ -z "$wsd_stored_0" ] || command . '/var/lib/wsdeploy/dump/b10ea138bda1d095'.paths 2>/dev/null || wsd_stored_0=
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
if [ -n "$wsd_stored_0" ]; then printf '\n%s D 0 stored\n' "$B"
else
wsd_o=$( { ( eval 'nginx -T' ) 2>/dev/null </dev/null; echo "x$?"; } | head -c 33554496 )
if [ ${#wsd_o} -lt 33554496 ] && [ "${wsd_o##*x}" != 0 ]; then wsd_o=$( { ( eval 'nginx -T' ) 2>&1 </dev/null; echo "x$?"; } | head -c 33554496 ); fi
if [ ${#wsd_o} -ge 33554496 ]; then wsd_rc=toolarge; wsd_o=; else wsd_rc=${wsd_o##*x}; wsd_o=${wsd_o%x*}; fi
case $wsd_rc in toolarge) ;; ''|*[!0-9]*) wsd_rc=-1 ;; esac
printf '\n%s D 0 %s %s\n%s' "$B" "${#wsd_o}" "$wsd_rc" "$wsd_o"
fi
exit 0
