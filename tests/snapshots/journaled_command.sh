printf '%s\n' 2 >> '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/ran || exit 1
eval 'nginx -s reload'
