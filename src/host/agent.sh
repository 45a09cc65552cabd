wsd_unsafe() { printf 'WSD-UNSAFE %s\n' "$wsd_why" >&2; exit WSD_EXIT_UNSAFE; }
wsd_agent() {
  wsd_why=; wsd_u=0; wsd_g=0; wsd_o=; wsd_f=$1; wsd_p=${1%/*}
  set --
  while [ -n "$wsd_p" ]; do [ -d "$wsd_p" ] && set -- "$wsd_p" "$@"; wsd_p=${wsd_p%/*}; done
  set -- / "$@"
  wsd_s=$(stat -c '%u %g %a' -- "$@") || { wsd_why="cannot examine the directories of $wsd_f"; return 1; }
  wsd_i=0
  while read -r wsd_du wsd_dg wsd_m; do
    wsd_i=$((wsd_i + 1)); wsd_g=$wsd_dg
    eval "wsd_d=\${$wsd_i}"
    if [ "$wsd_du" != 0 ]; then
      if [ "$wsd_u" = 0 ] || [ "$wsd_u" = "$wsd_du" ]; then wsd_u=$wsd_du
      else wsd_why="$wsd_d belongs to uid $wsd_du inside a directory of uid $wsd_u"; return 1; fi
    fi
    if [ $((0$wsd_m & 022)) != 0 ] && ! { [ $((0$wsd_m & 01000)) != 0 ] && [ "$wsd_du" = 0 ] && [ $wsd_i -lt $# ]; }; then
      wsd_why="$wsd_d is writable by other users (mode $wsd_m)"; return 1
    fi
  done <<WSD_AGENT_END
$wsd_s
WSD_AGENT_END
  if [ -e "$wsd_f" ] || [ -L "$wsd_f" ]; then
    wsd_s=$(stat -c '%u %g' -- "$wsd_f") || { wsd_why="cannot examine $wsd_f"; return 1; }
    wsd_o=${wsd_s% *}; wsd_g=${wsd_s#* }
    if [ "$wsd_u" != 0 ] && [ "$wsd_o" != "$wsd_u" ]; then
      wsd_why="$wsd_f belongs to uid $wsd_o but its directory is controlled by uid $wsd_u"; return 1
    fi
  fi
  return 0
}
wsd_as() {
  if [ "$wsd_u" = 0 ]; then "$@"; else setpriv --reuid="$wsd_u" --regid="$wsd_g" --clear-groups -- "$@"; fi
}
WSD_PUT='set -eu; umask 077; d=${1%/*}; d=${d:-/}; [ -d "$d" ] || mkdir -p -- "$d"
t=$(mktemp "$d/.wsdeploy.XXXXXX"); trap '\''rm -f -- "$t"'\'' EXIT
cat > "$t"
if [ -n "$2" ]; then chmod "$2" -- "$t"; elif [ -e "$1" ]; then chmod --reference="$1" -- "$t"; else chmod 644 -- "$t"; fi
sync -- "$t" 2>/dev/null || sync
case ${3:-} in
  "") ;;
  absent) if [ -e "$1" ] || [ -L "$1" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
  *) h=$(sha256sum < "$1") || h=; if [ "${h%% *}" != "$3" ]; then printf '\''WSD-CHANGED %s\n'\'' "$1" >&2; exit WSD_EXIT_CHANGED; fi ;;
esac
mv -f -- "$t" "$1"; trap - EXIT'
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
