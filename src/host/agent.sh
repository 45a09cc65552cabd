wsd_unsafe() { printf 'WSD-UNSAFE %s\n' "$wsd_why" >&2; exit WSD_EXIT_UNSAFE; }
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
  absent) if [ -e "$1" ] || [ -L "$1" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
  *) h=$(sha256sum < "$1") || h=; if [ "${h%% *}" != "$3" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
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
