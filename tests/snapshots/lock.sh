sh -c 'd='\''/var/lib/wsdeploy'\''
mkdir -p "$d" && chmod 700 "$d" || exit 1
flock -n -E 75 "$d/lock" sh -c '\''printf "%s\n" "$1" > "$2/lock.holder"; echo WSD-LOCKED; while [ "$(timeout 40 head -c 1)" = . ]; do :; done'\'' sh '\''ops@control'\'' "$d"
rc=$?
if [ $rc = 75 ]; then printf '\''WSD-BUSY %s\n'\'' "$(cat "$d/lock.holder" 2>/dev/null || echo unknown)"; fi
exit $rc
'