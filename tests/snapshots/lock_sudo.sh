sh -c 'IFS= read -r wsd_p
if wsd_e=$(LC_ALL=C sudo -n -u '\''root'\'' -- true 2>&1 </dev/null); then wsd_p=; exec sudo -n -u '\''root'\'' -- sh -c '\''d='\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''
mkdir -p "$d" && chmod 700 "$d" || exit 1
flock -n -E 75 "$d/lock" sh -c '\''\'\'''\''printf "%s\n" "$1" > "$2/lock.holder"; echo WSD-LOCKED; while [ "$(timeout 40 head -c 1)" = . ]; do :; done'\''\'\'''\'' sh '\''\'\'''\''ops@control'\''\'\'''\'' "$d"
rc=$?
if [ $rc = 75 ]; then printf '\''\'\'''\''WSD-BUSY %s\n'\''\'\'''\'' "$(cat "$d/lock.holder" 2>/dev/null || echo unknown)"; fi
exit $rc
'\''; fi
case $wsd_e in *'\''a password is required'\''*) ;; *) wsd_p=; printf '\''wsdeploy: `sudo -n -u %s -- true` failed, so the become password is not sent: %s\n'\'' '\''root'\'' "$wsd_e" >&2; exit 1 ;; esac
{ printf '\''%s\n'\'' "$wsd_p"; wsd_p=; exec cat; } | sudo -S -p '\'''\'' -u '\''root'\'' -- sh -c '\''d='\''\'\'''\''/var/lib/wsdeploy'\''\'\'''\''
mkdir -p "$d" && chmod 700 "$d" || exit 1
flock -n -E 75 "$d/lock" sh -c '\''\'\'''\''printf "%s\n" "$1" > "$2/lock.holder"; echo WSD-LOCKED; while [ "$(timeout 40 head -c 1)" = . ]; do :; done'\''\'\'''\'' sh '\''\'\'''\''ops@control'\''\'\'''\'' "$d"
rc=$?
if [ $rc = 75 ]; then printf '\''\'\'''\''WSD-BUSY %s\n'\''\'\'''\'' "$(cat "$d/lock.holder" 2>/dev/null || echo unknown)"; fi
exit $rc
'\''
'