sh -c 'IFS= read -r wsd_p
if wsd_e=$(LC_ALL=C sudo -n -u '\''root'\'' -- timeout -k 5 1 true 2>&1 </dev/null); then wsd_p=; exec sudo -n -u '\''root'\'' -- timeout -k 5 30 sh -s; fi
case $wsd_e in *'\''a password is required'\''*) ;; *) wsd_p=; printf '\''wsdeploy: `sudo -n -u %s -- timeout -k 5 1 true` failed, so the become password is not sent: %s\n'\'' '\''root'\'' "$wsd_e" >&2; exit 1 ;; esac
{ printf '\''%s\n'\'' "$wsd_p"; wsd_p=; exec cat; } | sudo -S -p '\'''\'' -u '\''root'\'' -- timeout -k 5 30 sh -s
'