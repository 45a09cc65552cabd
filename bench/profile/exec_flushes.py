"""Counts, per SSH exec of one host, the processes (execve), the `sync` processes and the
fsync/fdatasync/syncfs/sync calls (with the file or directory each flushes) in a trace of
that host's sshd: `strace -f -y --decode-pids=pidns -s 400 -e
trace=process,fsync,fdatasync,sync,syncfs -o FILE -p SSHD_PID` (the host's sshd PID as the
machine sees it, e.g. from `docker top CONTAINER -eo pid,comm`). An exec is the login
shell (`bash -c`) sshd starts for it; the commit the lock's holder runs is counted apart.
Usage: bench/profile/exec_flushes.py FILE"""
import re, sys, collections
lines = open(sys.argv[1]).read().splitlines()
parent, first_exec, events, unfinished = {}, {}, [], {}
for l in lines:
    m = re.match(r'(\d+) +(\S+) (.*)', l)
    if not m: continue
    pid, rest = int(m.group(1)), m.group(3)
    if '<unfinished ...>' in rest:
        unfinished[pid] = rest.split('<unfinished')[0]; continue
    mr = re.match(r'<\.\.\. (\w+) resumed>(.*)', rest)
    if mr: rest = unfinished.pop(pid, mr.group(1) + '(') + mr.group(2)
    mc = re.match(r'(clone3?|fork|vfork)\(.*\) = \d+ /\* (\d+) in strace', rest)
    if mc: parent[int(mc.group(2))] = pid; continue
    if rest.startswith('execve(') and re.search(r'\) = 0$', rest):
        a = re.match(r'execve\("([^"]*)"', rest); prog = a.group(1).rsplit('/',1)[-1]
        first_exec.setdefault(pid, (prog, rest))
        events.append((pid, 'exec', prog, rest)); continue
    ms = re.match(r'(fsync|fdatasync|syncfs)\(\d+<([^>]*)>\)', rest)
    if ms: events.append((pid, ms.group(1), ms.group(2), rest)); continue
    if rest.startswith('sync()'): events.append((pid, 'sync()', '(whole system)', rest))
def label(pid):
    # nearest ancestor running `sh /var/lib/wsdeploy/run.*` (commit in the lock holder) else the session's bash
    p = pid
    while p is not None:
        fe = first_exec.get(p)
        if fe and fe[0] == 'sh' and '/var/lib/wsdeploy/run.' in fe[1]: return ('commit (lock holder runs it)', p)
        if fe and fe[0] == 'bash': return ('session', p)
        p = parent.get(p)
    return ('?', pid)
groups = collections.OrderedDict()
for pid, k, d, r in events:
    lab, top = label(pid)
    g = groups.setdefault(top, {'lab': lab, 'cmd': first_exec.get(top, ('?', '?'))[1], 'exec': 0, 'sync': 0, 'flush': [], 'progs': collections.Counter()})
    if k == 'exec':
        g['exec'] += 1; g['progs'][d] += 1
        if d == 'sync': g['sync'] += 1
    else: g['flush'].append((k, d))
tot = collections.Counter()
for t, g in groups.items():
    m = re.search(r'"-c", "(.{0,200})', g['cmd'])
    print('=== %s pid %d: execve %d, sync processes %d, flushes %d' % (g['lab'], t, g['exec'], g['sync'], len(g['flush'])))
    print('   cmd:', (m.group(1) if m else g['cmd'][:200]).replace('\\n', ' | ')[:200])
    print('   programs:', ' '.join('%s×%d' % kv for kv in g['progs'].most_common()))
    for f in g['flush']: print('     ', f[0], f[1])
    tot['execve'] += g['exec']; tot['sync processes'] += g['sync']; tot['flushes'] += len(g['flush'])
print('TOTAL', dict(tot))
