#!/usr/bin/env python3
"""Kernel matrix: run crashlens on every built lab scenario and write tests/lab/MATRIX.md.

    matrix.py CRASHLENS_BINARY [-o MATRIX.md] [--cache DIR] [SCENARIO ...]

One row per scenario (its kernel first, rows sorted by kernel), one column per capability; every
cell is the result of a check run now through the CLI and its JSON keys (the way ../shared/checks
checks it), against what the lab recorded for that scenario: facts.json (the guest's console),
vmcore.dmesg.txt (makedumpfile --dump-dmesg). A cell is `ok` or says what failed. Exit code 1 when
any cell failed (the table is written either way).
"""
import argparse, datetime, glob, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
# common_startup_64: the idle CPUs' base since 6.9 (secondary_startup_64's successor; 6.12, 7.x)
BASES = ('entry_SYSCALL_64', 'secondary_startup_64', 'common_startup_64', 'ret_from_fork', 'start_kernel',
         'x86_64_start_kernel', 'x86_64_start_reservations', 'start_secondary', 'system_call_fastpath', 'cpu_startup_entry',
         'rest_init', 'kernel_thread_starter')
COLUMNS = [('containers', 'containers read'), ('log', 'log = makedumpfile'), ('modules', 'symbols / modules'),
           ('tasks', 'tasks'), ('cpus', 'every CPU to its base'), ('date', 'date / uptime'),
           ('verdict', 'verdict EN / 中文')]


def run(binp, args, timeout=600):
    p = subprocess.run([binp] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def report(binp, dumps):
    rc, out, err = run(binp, ['report', '--format', 'json'] + dumps)
    if rc:
        raise RuntimeError(f'exit {rc}: {err.strip()[:120]}')
    return json.loads(out)


def base(f):
    return (f or '').split('.')[0].split(' ')[0]


def containers(binp, sc, f, rep_elf):
    """Every container the lab wrote gives the console's release and first report line."""
    files = sorted(x for x in glob.glob(os.path.join(sc, 'vmcore.*'))
                   if not x.endswith(('.txt', '.json')) and not re.search(r'\.split\.\d+$', x))
    groups = [[x] for x in files] + ([sorted(glob.glob(os.path.join(sc, 'vmcore.*.split.*')))]
                                     if glob.glob(os.path.join(sc, 'vmcore.*.split.*')) else [])
    bad = []
    for g in groups:
        name = os.path.basename(g[0]).replace('.1', '') if len(g) > 1 else os.path.basename(g[0])
        try:
            r = rep_elf if g == [main_dump(sc)] else report(binp, g)
        except Exception as e:
            bad.append(f'{name}: {e}')
            continue
        msg = (r.get('panic') or {}).get('message')
        if (r.get('kernel') or {}).get('release') != f['kernel_release']:
            bad.append(f'{name}: release')
        elif msg not in (f['panic_message_first_line'], f.get('panic_line')):
            bad.append(f'{name}: message {msg!r}')
    return (not bad, f'{len(groups) - len(bad)}/{len(groups)}' + ('' if not bad else ': ' + '; '.join(bad[:2])))


def log(binp, sc, f, rep):
    want = open(os.path.join(sc, 'vmcore.dmesg.txt'), encoding='utf-8', errors='replace').read().splitlines()
    rc, out, _ = run(binp, ['log', main_dump(sc)])
    got = out.splitlines()
    same = sum(1 for a, b in zip(want, got) if a.rstrip() == b.rstrip())
    ok = rc == 0 and same / max(1, len(want)) >= 0.99 and abs(len(want) - len(got)) <= 2
    return ok, f'{same}/{len(want)} lines'


def modules(binp, sc, f, rep):
    want = re.findall(r'(\w+)(?:\([A-Z]+\))?', f.get('modules_linked_in') or '')
    if not f.get('modules_linked_in'):
        # No oops, no "Modules linked in:" line (a sysrq-c or panic() crash): the guest's own
        # "CRASHLENS-LAB: loaded NAME" lines (the initramfs's insmod) say what was loaded.
        con = open(os.path.join(sc, 'console.log'), 'rb').read().decode('utf-8', 'replace')
        want = [m.replace('-', '_') for m in re.findall(r'CRASHLENS-LAB: loaded (\S+)', con)]
    got = [m.get('name') for m in rep.get('modules') or []]
    if not want:  # no module list on the console at all: nothing to compare with
        return None, f'{len(got)} modules (the console printed no module list)'
    ok = sorted(got) == sorted(want)
    rip = (rep.get('panic') or {}).get('rip') or ''
    if f.get('rip_function') and base(rip.split('+')[0]) != base(f['rip_function']):
        return False, f'RIP {rip!r} want {f["rip_function"]}'
    return ok, f'{len(got)} modules' + ('' if ok else f' {got} want {want}')


def tasks(binp, sc, f, rep):
    n = (rep.get('sys') or {}).get('tasks')
    rc, out, _ = run(binp, ['ps', main_dump(sc)])
    pid, comm = f.get('crashing_pid'), f.get('crashing_comm')
    has = any(re.search(rf'^\S*\s*{pid}\s.*\b{re.escape(comm)}\b', l) for l in out.splitlines()) if pid else True
    ok = isinstance(n, int) and n > 0 and rc == 0 and has
    return ok, f'{n} tasks' + ('' if has else f', ps lacks {pid} {comm}')


def main_dump(sc):
    """The scenario's dump the row is checked on: vmcore.elf, else (the seed machine, whose 128 GiB
    ELF is never written) its makedumpfile -d 31 dump, else QEMU's kdump-compressed one."""
    for n in ('vmcore.elf', 'vmcore.d31-zlib.kdump', 'vmcore.qemu-kdump-zlib'):
        if os.path.exists(os.path.join(sc, n)):
            return os.path.join(sc, n)
    return os.path.join(sc, 'vmcore.elf')


def cpus(binp, sc, f, rep):
    bad = []
    traces = rep.get('cpu_traces') or []
    if len(traces) != rep.get('cpus'):
        bad.append(f'{len(traces)} traces for {rep.get("cpus")} CPUs')
    for t in traces:
        frames = t.get('frames') or []
        if not frames and t.get('cpu') == (rep.get('panic') or {}).get('cpu'):
            frames = rep.get('backtrace') or []   # the crashing CPU's trace is the report's backtrace
        # the user-mode register frame (no kernel function) below entry_SYSCALL_64 is past the base
        named = [fr.get('function') for fr in frames if fr.get('function')]
        last = base(named[-1]) if named else None
        # a kernel entered from user space by an exception (a page fault in user code) ends in
        # the user-mode register frame the exception saved: that is its base too
        user = bool(frames) and frames[-1].get('kind') == 'exception' and \
            int(str((frames[-1].get('regs') or {}).get('cs', '0')), 0) & 3 == 3
        if len(frames) < 3 or t.get('error') or not ((last or '').startswith(BASES) or user):
            bad.append(f'CPU {t.get("cpu")}: {len(frames)} frames, ends {last}' +
                       (f' ({t["error"][:60]})' if t.get('error') else ''))
    return not bad, 'all' if not bad else '; '.join(bad[:2])


def date(binp, sc, f, rep):
    s = rep.get('sys') or {}
    ok = bool(rep.get('crash_time')) and s.get('uptime_secs') is not None
    return ok, f'{s.get("date_text")}, up {s.get("uptime")}' if ok else \
        f'date {rep.get("crash_time")!r} uptime {s.get("uptime")!r}'


def verdict(binp, sc, f, rep):
    c = rep.get('culprit') or {}
    cf, cm = c.get('function'), c.get('module')
    n = rep.get('narrative') or {}
    en, zh = n.get('en') or '', n.get('zh') or ''
    bad = []
    if f.get('culprit_function') and base(cf) != base(f['culprit_function']):
        bad.append(f'culprit {cf} want {f["culprit_function"]}')
    if f.get('culprit_function') and cm != f.get('culprit_module'):
        bad.append(f'module {cm} want {f.get("culprit_module")}')
    for key in ('rip_function', 'culprit_function'):
        fn = base(f.get(key))
        if fn and (fn not in en or fn not in zh):
            bad.append(f'narrative lacks {fn}')
    if not re.search(r'[\u4e00-\u9fff]{8,}', zh):
        bad.append('no Chinese sentence')
    return not bad, (f'{cf} [{cm}]' if cm else f'{cf}') if not bad else '; '.join(bad[:2])


CHECKS = {'containers': containers, 'log': log, 'modules': modules, 'tasks': tasks, 'cpus': cpus,
          'date': date, 'verdict': verdict}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('binary')
    ap.add_argument('scenarios', nargs='*')
    ap.add_argument('-o', '--out', default=os.path.join(HERE, 'MATRIX.md'))
    ap.add_argument('--cache', default=os.path.expanduser(os.environ.get('CRASHLENS_LAB_CACHE') or
                                                          '~/.cache/crashlens/lab'))
    a = ap.parse_intermixed_args()
    names = a.scenarios or sorted(n for n in os.listdir(a.cache) if not n.startswith(('.', '_')) and
                                  os.path.exists(os.path.join(a.cache, n, 'facts.json')))
    rows, failed, unchecked = [], 0, 0
    for n in names:
        sc = os.path.join(a.cache, n)
        f = json.load(open(os.path.join(sc, 'facts.json')))
        cells = {}
        try:
            rep = report(a.binary, [main_dump(sc)])
        except Exception as e:
            rep = None
            cells = {k: (False, f'report: {e}') for k in CHECKS}
        for k, fn in CHECKS.items():
            if rep is None:
                break
            try:
                cells[k] = fn(a.binary, sc, f, rep)
            except Exception as e:
                cells[k] = (False, f'{type(e).__name__}: {str(e)[:80]}')
        failed += sum(ok is False for ok, _ in cells.values())
        unchecked += sum(ok is None for ok, _ in cells.values())
        rows.append((f['kernel_release'] or '?', n, f.get('dump_method', ''), cells))
        print(f'{n}: ' + ', '.join(f'{k} ' + {True: 'ok', False: 'FAIL', None: 'n/a'}[ok] for k, (ok, _) in cells.items()),
              file=sys.stderr)
    rows.sort(key=lambda r: (r[0], r[1]))
    md = ['# Kernel matrix', '',
          f'Written by `tests/lab/run.sh --matrix` (`tests/lab/matrix.py`) on '
          f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC from the lab cache; do not edit by hand.',
          'Each cell is a check run through the CLI on the scenario\'s `vmcore.elf` (the seed machine: its `-d 31` dump; containers: every file the lab '
          'wrote) against the scenario\'s `facts.json` (the guest\'s console) and `vmcore.dmesg.txt` '
          '(makedumpfile). ✅ held, ❌ failed, ➖ nothing to check against; with what was found.', '',
          '| kernel | scenario | ' + ' | '.join(t for _, t in COLUMNS) + ' |',
          '|---|---|' + '---|' * len(COLUMNS)]
    for krel, n, _, cells in rows:
        md.append(f'| {krel} | `{n}` | ' + ' | '.join(
            {True: '✅ ', False: '❌ ', None: '➖ '}[cells[k][0]] + cells[k][1].replace('|', '\\|') for k, _ in COLUMNS) + ' |')
    n = len(rows) * len(COLUMNS) - unchecked
    md += ['', f'{len(rows)} scenarios, {n - failed}/{n} cells held ({unchecked} ➖: nothing to check against).', '']
    open(a.out, 'w').write('\n'.join(md))
    print(f'matrix: {len(rows)} scenarios, {failed} failed cells -> {a.out}', file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
