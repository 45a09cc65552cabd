"""Runs `wsdeploy ... --json` and prints when each phase/step happened (seconds since the
command started; median and max over hosts), and the gap between a host's last step and
its report. Usage: bench/profile/timeline.py WSDEPLOY_COMMAND... --json
With TIMELINE_PER_HOST=1 in the environment, also every host's events in order (seconds
since the command started; the gap since the host's previous event in brackets)."""
import json, os, subprocess, sys, time, collections
cmd = sys.argv[1:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
ev = collections.defaultdict(dict)
last_step = {}
for line in p.stdout:
    t = time.monotonic() - t0
    try: e = json.loads(line)
    except ValueError: continue
    h = e.get("host") or (e.get("report") or {}).get("host")
    k = e["event"]
    if k == "phase": ev[h]["phase:" + e["phase"]] = t
    elif k == "step_done": ev[h]["step:" + e["step"]] = t; last_step[h] = t
    elif k == "host_report": ev[h]["report"] = t
    elif k == "host_started": ev[h]["start"] = t
p.wait()
end = time.monotonic() - t0
keys = ["start", "phase:gather", "phase:lock", "phase:preflight", "phase:journal", "phase:apply", "step:nginx_reload", "step:odoo_conf", "step:odoo_restart", "step:odoo_up", "step:evented_service", "step:websocket_handshake", "report"]
import statistics
print(f"total {end:.2f} s")
for k in keys:
    v = [d[k] for d in ev.values() if k in d]
    if v: print(f"{k:28s} median {statistics.median(v):6.2f}  max {max(v):6.2f}  (n={len(v)})")
gap = [d["report"] - last_step[h] for h, d in ev.items() if "report" in d and h in last_step]
print(f"last step -> host report: median {statistics.median(gap):.2f} s, max {max(gap):.2f}")
if os.environ.get("TIMELINE_PER_HOST"):
    for h in sorted(ev, key=lambda h: (len(h or ""), h or "")):
        events = sorted(ev[h].items(), key=lambda kv: kv[1])
        prev = events[0][1] if events else 0.0
        cells = []
        for name, t in events:
            cells.append(f"{name} {t:.2f} (+{t - prev:.2f})")
            prev = t
        print(f"{h}: " + ", ".join(cells))
