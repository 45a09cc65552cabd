printf '%s\n' 'committed' > '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp && sync -- '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp && mv -f '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state.tmp '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12'/state && { sync -- '/var/lib/wsdeploy/runs/20261123T000000Z-00ab12' 2>/dev/null || sync; } && { rm -f -- '/var/lib/wsdeploy/runs/.in_progress/20261123T000000Z-00ab12' 2>/dev/null || :; }
st=$?
[ $st = 0 ] || exit $st
LC_ALL=C; export LC_ALL
wsd_fingerprint() {
  awk -v q="'" '
    function sq(p,   r, i) { r = ""; while ((i = index(p, q)) > 0) { r = r substr(p, 1, i - 1) q "\\" q q; p = substr(p, i + 1) } return q r p q }
    function add(p) { if (p != "" && !(p in seen)) { seen[p] = 1; out = out " " sq(p) } }
    function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
    { bytes += length($0) + 1 }
    /^# configuration file \/.*:$/ { f = substr($0, 22, length($0) - 22); if (base == "") base = dir(f); add(f); add(dir(f)); next }
    { line = $0; sub(/#.*/, "", line)
      while (match(line, /(^|[ \t;{}])include[ \t]+[^;{}]*/)) {
        inc = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
        sub(/^[ \t;{}]*include[ \t]+/, "", inc); sub(/[ \t]+$/, "", inc)
        if (inc ~ /^".*"$/ || inc ~ ("^" q ".*" q "$")) inc = substr(inc, 2, length(inc) - 2)
        incs[++n] = inc
      } }
    END { for (i = 1; i <= n; i++) { p = incs[i]; if (p !~ /^\//) p = base "/" p; add(dir(p)) }
          if (out == "" || bytes > 4194304) exit 1; print "set -- \"$@\"" out }' "$1" > "$4" || return 1
  wsd_s=$2 wsd_k=$3 wsd_p=$4
  set --; command . "$wsd_p" || return 1
  stat -L -c '%a %u %g %s %i %.9Y %.9Z %n' -- "$wsd_s" "$@" > "$wsd_k.s" 2>/dev/null || return 1
  awk 'NR == 1 { if ($7 !~ /^[0-9]+\.[0-9]+$/) bad = 1; t0 = $7; next }
       $7 !~ /^[0-9]+\.[0-9]+$/ || $7 + 0 >= t0 + 0 { bad = 1 }
       { l[NR - 1] = $0 }
       END { if (bad || NR < 2) exit 1; print NR - 1; for (i = 1; i < NR; i++) print l[i] }' "$wsd_k.s" > "$wsd_k"
}
wsd_dump_fresh() {
  t="$1.$$"
  { [ -d "${1%/*}" ] || { mkdir -p "${1%/*}" && chmod 700 "${1%/*}"; }; } 2>/dev/null && : > "$t" 2>/dev/null || return 1
  ( eval "$2" ) > "$t.o" 2>/dev/null </dev/null; rc=$?
  if [ $rc = 0 ] && wsd_fingerprint "$t.o" "$t" "$t.k" "$t.p"; then
    cat "$t.o" >> "$t.k" && mv -f "$t.p" "$1.paths" && mv -f "$t.k" "$1"
  fi
  rm -f "$t" "$t.o" "$t.k" "$t.k.s" "$t.p"
  return $rc
}
wsd_dump_fresh '/var/lib/wsdeploy/dump/b10ea138bda1d095' 'nginx -T' >/dev/null 2>&1
exit 0
