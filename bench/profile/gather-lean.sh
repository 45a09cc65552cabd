# A fork-light gather with the same information: one readlink, one stat, one cat for
# all files (sizes from stat split the raw bytes), then `nginx -T`. Used by decompose.
LC_ALL=C; export LC_ALL
f1=/etc/nginx/nginx.conf f2=/etc/nginx/sites-available/odoo.conf f3=/etc/opticserp/odoo.conf
readlink -f -- "$f1" "$f2" "$f3"
stat -c '%a %u %g %s' -- "$f1" "$f2" "$f3"
cat -- "$f1" "$f2" "$f3"
nginx -T 2>&1; echo "WSD-RC $?"
