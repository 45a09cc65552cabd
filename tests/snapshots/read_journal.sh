printf 'S %s\n' "$(cat '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state 2>/dev/null)"
printf 'M %s\n' "$(base64 -w0 < '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/manifest.json)"
printf 'R %s\n' "$(cat '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/ran 2>/dev/null | tr '\n' ' ')"
