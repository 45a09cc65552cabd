sh -c 'IFS= read -r wsd_p
if wsd_e=$(LC_ALL=C sudo -n -u '\''root'\'' -- true 2>&1 </dev/null); then wsd_p=; exec sudo -n -u '\''root'\'' -- sh -c '\''wsd_sd_why=
wsd_sd_judge() {
  wsd_o=${wsd_m% *}; wsd_m=${wsd_m#* }
  if [ "$wsd_o" != 0 ] && [ ! -O "$wsd_p" ]; then wsd_sd_why="$wsd_p is owned by uid $wsd_o, neither root nor the user the run runs as (uid $(id -u))"
  elif [ $((0$wsd_m & 18)) = 0 ]; then :
  elif [ "$wsd_p" = '\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\'' ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m)"
  elif [ $((0$wsd_m & 512)) = 0 ] || [ "$wsd_o" != 0 ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m) without being root'\''\'\'''\''s and sticky"
  fi
}
wsd_sd_check() {
  wsd_sd_end=
  for wsd_p in '\''\'\'''\''/var'\''\'\'''\'' '\''\'\'''\''/var/lib'\''\'\'''\'' '\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''; do
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
  elif [ $# != 0 ]; then wsd_sd_all=$(stat --printf '\''\'\'''\''%u %a/'\''\'\'''\'' -- "$@" 2>/dev/null) || wsd_sd_all=
  fi
  for wsd_p do
    if [ -n "$wsd_sd_all" ]; then wsd_m=${wsd_sd_all%%/*}; wsd_sd_all=${wsd_sd_all#*/}
    else wsd_m=$(stat -c '\''\'\'''\''%u %a'\''\'\'''\'' -- "$wsd_p") || wsd_m='\''\'\'''\''? 0'\''\'\'''\''; fi
    wsd_sd_judge
    [ -z "$wsd_sd_why" ] || return 0
  done
  wsd_sd_why=$wsd_sd_end
}
wsd_sd_check
[ -z "$wsd_sd_why" ] || { printf '\''\'\'''\''WSD-UNSAFE-STATE %s\n'\''\'\'''\'' "$wsd_sd_why" >&1; exit 92; }
d='\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''
mkdir -p "$d" && chmod 700 "$d" || exit 1
flock -n -E 75 "$d/lock" sh -c '\''\'\'''\''printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''%s\n'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$1" > "$2/lock.holder"
echo WSD-LOCKED
while wsd_b=$(timeout 40 head -c 1); do
case $wsd_b in
.) ;;
R) wsd_n=$(timeout 40 head -c 8) || break
  case $wsd_n in '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'''\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''|*[!0-9]*) break ;; esac
  wsd_f=$(mktemp "$2/run.XXXXXX") || break
  timeout 40 head -c "$wsd_n" > "$wsd_f" || { rm -f -- "$wsd_f"; break; }
  wsd_o=$(timeout -k 5 120 sh "$wsd_f" 2>&1 </dev/null); wsd_c=$?
  rm -f -- "$wsd_f"
  printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''WSD-RAN %s %s\n'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$wsd_c" "$(printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''%s'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$wsd_o" | base64 -w0)" ;;
*) break ;;
esac
done
'\''\'\'''\'' sh '\''\'\'''\''ops@control'\''\'\'''\'' "$d"
rc=$?
if [ $rc = 75 ]; then printf '\''\'\'''\''WSD-BUSY %s\n'\''\'\'''\'' "$(cat "$d/lock.holder" 2>/dev/null || echo unknown)"; fi
exit $rc
'\''; fi
case $wsd_e in *'\''a password is required'\''*) ;; *) wsd_p=; printf '\''wsdeploy: `sudo -n -u %s -- true` failed, so the become password is not sent: %s\n'\'' '\''root'\'' "$wsd_e" >&2; exit 1 ;; esac
{ printf '\''%s\n'\'' "$wsd_p"; wsd_p=; exec cat; } | sudo -S -p '\'''\'' -u '\''root'\'' -- sh -c '\''wsd_sd_why=
wsd_sd_judge() {
  wsd_o=${wsd_m% *}; wsd_m=${wsd_m#* }
  if [ "$wsd_o" != 0 ] && [ ! -O "$wsd_p" ]; then wsd_sd_why="$wsd_p is owned by uid $wsd_o, neither root nor the user the run runs as (uid $(id -u))"
  elif [ $((0$wsd_m & 18)) = 0 ]; then :
  elif [ "$wsd_p" = '\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\'' ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m)"
  elif [ $((0$wsd_m & 512)) = 0 ] || [ "$wsd_o" != 0 ]; then wsd_sd_why="$wsd_p is writable by its group or others (mode $wsd_m) without being root'\''\'\'''\''s and sticky"
  fi
}
wsd_sd_check() {
  wsd_sd_end=
  for wsd_p in '\''\'\'''\''/var'\''\'\'''\'' '\''\'\'''\''/var/lib'\''\'\'''\'' '\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''; do
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
  elif [ $# != 0 ]; then wsd_sd_all=$(stat --printf '\''\'\'''\''%u %a/'\''\'\'''\'' -- "$@" 2>/dev/null) || wsd_sd_all=
  fi
  for wsd_p do
    if [ -n "$wsd_sd_all" ]; then wsd_m=${wsd_sd_all%%/*}; wsd_sd_all=${wsd_sd_all#*/}
    else wsd_m=$(stat -c '\''\'\'''\''%u %a'\''\'\'''\'' -- "$wsd_p") || wsd_m='\''\'\'''\''? 0'\''\'\'''\''; fi
    wsd_sd_judge
    [ -z "$wsd_sd_why" ] || return 0
  done
  wsd_sd_why=$wsd_sd_end
}
wsd_sd_check
[ -z "$wsd_sd_why" ] || { printf '\''\'\'''\''WSD-UNSAFE-STATE %s\n'\''\'\'''\'' "$wsd_sd_why" >&1; exit 92; }
d='\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''
mkdir -p "$d" && chmod 700 "$d" || exit 1
flock -n -E 75 "$d/lock" sh -c '\''\'\'''\''printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''%s\n'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$1" > "$2/lock.holder"
echo WSD-LOCKED
while wsd_b=$(timeout 40 head -c 1); do
case $wsd_b in
.) ;;
R) wsd_n=$(timeout 40 head -c 8) || break
  case $wsd_n in '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'''\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''|*[!0-9]*) break ;; esac
  wsd_f=$(mktemp "$2/run.XXXXXX") || break
  timeout 40 head -c "$wsd_n" > "$wsd_f" || { rm -f -- "$wsd_f"; break; }
  wsd_o=$(timeout -k 5 120 sh "$wsd_f" 2>&1 </dev/null); wsd_c=$?
  rm -f -- "$wsd_f"
  printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''WSD-RAN %s %s\n'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$wsd_c" "$(printf '\''\'\'''\''\'\''\'\'''\'''\''\'\'''\''%s'\''\'\'''\''\'\''\'\'''\'''\''\'\'''\'' "$wsd_o" | base64 -w0)" ;;
*) break ;;
esac
done
'\''\'\'''\'' sh '\''\'\'''\''ops@control'\''\'\'''\'' "$d"
rc=$?
if [ $rc = 75 ]; then printf '\''\'\'''\''WSD-BUSY %s\n'\''\'\'''\'' "$(cat "$d/lock.holder" 2>/dev/null || echo unknown)"; fi
exit $rc
'\''
'