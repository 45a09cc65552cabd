set -eu
umask 077
LC_ALL=C; export LC_ALL
changed() { printf 'WSD-CHANGED %s\n' "$1" >&2; exit 90; }
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
$(QUOTING_STYLE=escape stat --printf '%n\t%u %g %a\t%N\n' -- '/' '/etc' '/etc/nginx' '/etc/nginx/sites-enabled' '/etc/nginx/sites-enabled/odoo.conf' '/etc/nginx/sites-available' '/etc/nginx/sites-available/odoo.conf' '/var' '/var/lib' '/var/lib/wsdeploy' '/var/lib/wsdeploy/backups' '/var/lib/wsdeploy/backups/2026-11-23' '/var/lib/wsdeploy/backups/2026-11-23/etc' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' '/opt' '/opt/bench' '/opt/bench/sites' '/opt/bench/sites/it'\''s common.json' 2>/dev/null || :)
"
wsd_key() { case $1 in '/') wsd_k=1 ;; '/etc') wsd_k=2 ;; '/etc/nginx') wsd_k=3 ;; '/etc/nginx/sites-enabled') wsd_k=4 ;; '/etc/nginx/sites-enabled/odoo.conf') wsd_k=5 ;; '/etc/nginx/sites-available') wsd_k=6 ;; '/etc/nginx/sites-available/odoo.conf') wsd_k=7 ;; '/var') wsd_k=8 ;; '/var/lib') wsd_k=9 ;; '/var/lib/wsdeploy') wsd_k=10 ;; '/var/lib/wsdeploy/backups') wsd_k=11 ;; '/var/lib/wsdeploy/backups/2026-11-23') wsd_k=12 ;; '/var/lib/wsdeploy/backups/2026-11-23/etc') wsd_k=13 ;; '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx') wsd_k=14 ;; '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available') wsd_k=15 ;; '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf') wsd_k=16 ;; '/opt') wsd_k=17 ;; '/opt/bench') wsd_k=18 ;; '/opt/bench/sites') wsd_k=19 ;; '/opt/bench/sites/it'\''s common.json') wsd_k=20 ;; *) return 1 ;; esac; }
wsd_table 20
wsd_chain '/etc/nginx/sites-enabled/odoo.conf' || wsd_unsafe
[ "$wsd_real" = '/etc/nginx/sites-available/odoo.conf' ] || { printf 'WSD-CHANGED %s\n' '/etc/nginx/sites-enabled/odoo.conf' >&2; exit 90; }
wsd_pu0=$wsd_u wsd_pg0=$wsd_g
wsd_agent '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' || wsd_unsafe
wsd_bu0=$wsd_u wsd_bg0=$wsd_g
wsd_chain '/opt/bench/sites/it'\''s common.json' || wsd_unsafe
[ "$wsd_real" = '/opt/bench/sites/it'\''s common.json' ] || { printf 'WSD-CHANGED %s\n' '/opt/bench/sites/it'\''s common.json' >&2; exit 90; }
wsd_pu1=$wsd_u wsd_pg1=$wsd_g
wsd_seen=
[ -f '/etc/nginx/sites-available/odoo.conf' ] || changed '/etc/nginx/sites-available/odoo.conf'
[ ! -e '/opt/bench/sites/it'\''s common.json' ] || changed '/opt/bench/sites/it'\''s common.json'
if ! sha256sum -c --status <<'WSD_SUMS_END'
355da02c030cafce7f50bba6a64ec89983df42d6d1861cb9c9a8f38db15f674d  /etc/nginx/sites-available/odoo.conf
WSD_SUMS_END
then
[ "$(sha256sum < '/etc/nginx/sites-available/odoo.conf' | cut -d' ' -f1)" = '355da02c030cafce7f50bba6a64ec89983df42d6d1861cb9c9a8f38db15f674d' ] || changed '/etc/nginx/sites-available/odoo.conf'
changed 'a file being replaced'
fi
if [ ! '/var/lib/wsdeploy/runs/.in_progress'/.indexed -nt '/var/lib/wsdeploy/runs' ] && [ -d '/var/lib/wsdeploy/runs' ] && mkdir -p '/var/lib/wsdeploy/runs/.in_progress'; then
  for r in '/var/lib/wsdeploy/runs'/*/state; do
    st=; IFS= read -r st < "$r" 2>/dev/null || :; [ "$st" = in_progress ] || continue
    r=${r%/state}; : > '/var/lib/wsdeploy/runs/.in_progress'/"${r##*/}"
  done
fi
for r in '/var/lib/wsdeploy/runs/.in_progress'/*; do [ -f "$r" ] || continue; st=; IFS= read -r st < '/var/lib/wsdeploy/runs'/"${r##*/}"/state 2>/dev/null || :; [ "$st" = in_progress ] || rm -f -- "$r"; done
mkdir -p '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/pre '/var/lib/wsdeploy/runs/.in_progress'
chmod 700 /var/lib/wsdeploy /var/lib/wsdeploy/runs '/var/lib/wsdeploy/runs/.in_progress' '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'
wsd_u=$wsd_pu0 wsd_g=$wsd_pg0
if [ "$wsd_u" = 0 ]; then cp -p -- '/etc/nginx/sites-available/odoo.conf' '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12/pre/0'; else wsd_as cat -- '/etc/nginx/sites-available/odoo.conf' > '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12/pre/0'; fi
sha256sum -c --status <<'WSD_SUMS_END' || changed 'a file being replaced (while its pre-image was copied)'
355da02c030cafce7f50bba6a64ec89983df42d6d1861cb9c9a8f38db15f674d  /var/lib/wsdeploy/runs/20261123T000000Z-00ab12/pre/0
WSD_SUMS_END
base64 -d > '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/manifest.json <<'WSDEPLOY_B64_END'
eyJydW5faWQiOiIyMDI2MTEyM1QwMDAwMDBaLTAwYWIxMiJ9
WSDEPLOY_B64_END
set --
if [ ! -e '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' ] && [ ! -L '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' ]; then
  wsd_tu=$wsd_pu0 wsd_tg=$wsd_pg0 wsd_u=$wsd_bu0 wsd_g=$wsd_bg0
  if [ "$wsd_u" = 0 ] && [ "$wsd_tu" = 0 ]; then [ -d '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available' ] || mkdir -p -- '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available'; cp -p -- '/etc/nginx/sites-available/odoo.conf' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf'; set -- "$@" '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available'
  else ( wsd_u=$wsd_tu wsd_g=$wsd_tg; wsd_as cat -- '/etc/nginx/sites-available/odoo.conf' ) | wsd_as sh -c "$WSD_PUT" sh '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf' '644'; fi
  printf 'WSD-BACKUP %s\n' '/var/lib/wsdeploy/backups/2026-11-23/etc/nginx/sites-available/odoo.conf'
fi
: > '/var/lib/wsdeploy/runs/.in_progress/20261123T000000Z-00ab12'
printf 'in_progress\n' > '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp
sync -- '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12/pre/0' '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/manifest.json '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/pre "$@" '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12' '/var/lib/wsdeploy/runs/.in_progress/20261123T000000Z-00ab12' '/var/lib/wsdeploy/runs/.in_progress' 2>/dev/null || sync
mv -f '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state
wsd_runs='/var/lib/wsdeploy/runs'
wsd_newer() { wsd_tick=0; while { : > "$1"; } 2>/dev/null && ! [ "$1" -nt "$wsd_runs" ] && [ $wsd_tick -lt 5000 ]; do wsd_tick=$((wsd_tick + 1)); done; [ "$1" -nt "$wsd_runs" ]; }
wsd_newer '/var/lib/wsdeploy/runs/.in_progress'/.indexed || :
printf '%s\n' WSD-JOURNALED
wsd_t0='' wsd_t1=''
trap 'for wsd_x in "$wsd_t0" "$wsd_t1"; do [ -z "$wsd_x" ] || rm -f -- "$wsd_x"; done' EXIT
wsd_u=$wsd_pu0 wsd_g=$wsd_pg0
wsd_wu0=$wsd_u wsd_wg0=$wsd_g
if [ "$wsd_u" = 0 ]; then
d='/etc/nginx/sites-available'; [ -d "$d" ] || mkdir -p -- "$d"
wsd_x="$d/.wsdeploy.20261123T000000Z-00ab12.0"; (set -C; : > "$wsd_x"); wsd_t0=$wsd_x
base64 -d > "$wsd_t0" <<'WSDEPLOY_B64_END'
c2VydmVyIHsgbGlzdGVuIDgwOyB9Cg==
WSDEPLOY_B64_END
if [ -e '/etc/nginx/sites-available/odoo.conf' ]; then cp --attributes-only --preserve=mode,ownership -- '/etc/nginx/sites-available/odoo.conf' "$wsd_t0"; else chmod 644 -- "$wsd_t0"; fi
fi
wsd_u=$wsd_pu1 wsd_g=$wsd_pg1
wsd_wu1=$wsd_u wsd_wg1=$wsd_g
if [ "$wsd_u" = 0 ]; then
d='/opt/bench/sites'; [ -d "$d" ] || mkdir -p -- "$d"
wsd_x="$d/.wsdeploy.20261123T000000Z-00ab12.1"; (set -C; : > "$wsd_x"); wsd_t1=$wsd_x
base64 -d > "$wsd_t1" <<'WSDEPLOY_B64_END'
eyJzb2NrZXRpb19wb3J0IjogOTAwMH0K
WSDEPLOY_B64_END
if [ -e '/opt/bench/sites/it'\''s common.json' ]; then cp --attributes-only --preserve=mode,ownership -- '/opt/bench/sites/it'\''s common.json' "$wsd_t1"; else chmod 640 -- "$wsd_t1"; fi
fi
set -- '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'
[ -z "$wsd_t0" ] || set -- "$@" "$wsd_t0"
[ -z "$wsd_t1" ] || set -- "$@" "$wsd_t1"
[ $# -eq 0 ] || sync -- "$@" 2>/dev/null || sync
set --
wsd_u=$wsd_wu0 wsd_g=$wsd_wg0
if [ "$wsd_u" = 0 ]; then
wsd_cas '/etc/nginx/sites-available/odoo.conf' '355da02c030cafce7f50bba6a64ec89983df42d6d1861cb9c9a8f38db15f674d' || { printf 'WSD-CHANGED %s\n' '/etc/nginx/sites-available/odoo.conf' >&2; exit 90; }
mv -f -- "$wsd_t0" '/etc/nginx/sites-available/odoo.conf'; wsd_t0=
set -- "$@" '/etc/nginx/sites-available'
else
wsd_new=; [ -e '/etc/nginx/sites-available/odoo.conf' ] || wsd_new=644
base64 -d <<'WSDEPLOY_B64_END' | wsd_as sh -c "$WSD_PUT" sh '/etc/nginx/sites-available/odoo.conf' "$wsd_new" '355da02c030cafce7f50bba6a64ec89983df42d6d1861cb9c9a8f38db15f674d' 20261123T000000Z-00ab12.0
c2VydmVyIHsgbGlzdGVuIDgwOyB9Cg==
WSDEPLOY_B64_END
fi
printf 'WSD-WROTE 0\n'
wsd_u=$wsd_wu1 wsd_g=$wsd_wg1
if [ "$wsd_u" = 0 ]; then
wsd_cas '/opt/bench/sites/it'\''s common.json' 'absent' || { printf 'WSD-CHANGED %s\n' '/opt/bench/sites/it'\''s common.json' >&2; exit 90; }
mv -f -- "$wsd_t1" '/opt/bench/sites/it'\''s common.json'; wsd_t1=
set -- "$@" '/opt/bench/sites'
else
wsd_new=; [ -e '/opt/bench/sites/it'\''s common.json' ] || wsd_new=640
base64 -d <<'WSDEPLOY_B64_END' | wsd_as sh -c "$WSD_PUT" sh '/opt/bench/sites/it'\''s common.json' "$wsd_new" 'absent' 20261123T000000Z-00ab12.1
eyJzb2NrZXRpb19wb3J0IjogOTAwMH0K
WSDEPLOY_B64_END
fi
printf 'WSD-WROTE 1\n'
[ $# -eq 0 ] || sync -- "$@" 2>/dev/null || sync
exit 0
