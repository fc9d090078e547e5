#!/usr/bin/env python3
"""Oracle outputs of the `crash` utility for lab scenarios (opt-in: needs the kernels' -dbg packages,
~280 MB download / 1.7 GB extracted each).

    oracle.py [SCENARIO ...]      (default: every built scenario without an oracle/ directory)

For each scenario dir in the lab cache: fetch linux-image-<krel>-dbg (kernels.py, LAB_DBG=1), then run
crash (Debian's crash 8.0.2) on vmcore.elf with the debug vmlinux and write <scenario>/oracle/:
  crash-sys.txt, crash-bt.txt, crash-bt-a.txt, crash-mod.txt, crash-ps.txt, crash-log.txt,
  and after `mod -s crashlens_lab crashlens_lab.ko`: crash-dis.txt (`dis -l` of the exception-RIP
  function) and crash-sym.txt (`sym` of the exception RIP), when bt shows an exception frame.
crash runs in a scratch dir with links named vmlinux-<krel>, vmcore and crashlens_lab.ko, so its output
holds no local paths. The oracle is separate from the scenario's cache key: rerun with --force to redo.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ['LAB_DBG'] = '1'
import kernels  # noqa: E402

FILES = {'sys': 'crash-sys.txt', 'bt': 'crash-bt.txt', 'bt -a': 'crash-bt-a.txt', 'mod': 'crash-mod.txt',
         'ps': 'crash-ps.txt', 'log': 'crash-log.txt'}


def crash(wd, vml, cmds, timeout=600):
    cf = os.path.join(wd, 'cmds')
    open(cf, 'w').write('\n'.join(cmds) + '\nexit\n')
    r = subprocess.run(['crash', '-s', vml, 'vmcore', '-i', cf], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout, cwd=wd)
    os.unlink(cf)
    return r.stdout + r.stderr


def oracle(sdir, force=False):
    out = os.path.join(sdir, 'oracle')
    if os.path.isdir(out) and not force:
        print(f'{sdir}: oracle exists')
        return True
    facts = json.load(open(os.path.join(sdir, 'facts.json')))
    krel = facts['kernel_release']
    root, _ = kernels.ensure(krel)
    vmlinux = os.path.join(root, 'usr/lib/debug/boot', f'vmlinux-{krel}')
    tmp = out + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    wd = tempfile.mkdtemp(prefix='lab-oracle-')
    try:
        vml = f'vmlinux-{krel}'
        os.symlink(vmlinux, os.path.join(wd, vml))
        os.symlink(os.path.join(sdir, 'vmcore.elf'), os.path.join(wd, 'vmcore'))
        os.symlink(os.path.join(sdir, 'crashlens_lab.ko'), os.path.join(wd, 'crashlens_lab.ko'))
        log = crash(wd, vml, [f'{c} > {os.path.join(tmp, f)}' for c, f in FILES.items()])
        open(os.path.join(tmp, 'crash-session.log'), 'w').write(log)
        bt = open(os.path.join(tmp, 'crash-bt.txt')).read() if os.path.exists(os.path.join(tmp, 'crash-bt.txt')) else ''
        m = re.search(r'\[exception RIP: ([\w.]+)\+(\d+)\]\s*\n\s*RIP: ([0-9a-f]+)', bt)
        if m:
            func, rip = m.group(1), m.group(3)
            log2 = crash(wd, vml, ['mod -s crashlens_lab crashlens_lab.ko',
                                   f'dis -l {func} > {os.path.join(tmp, "crash-dis.txt")}',
                                   f'sym {rip} > {os.path.join(tmp, "crash-sym.txt")}'])
            open(os.path.join(tmp, 'crash-session.log'), 'a').write(log2)
        ok = bool(bt.strip())
    finally:
        shutil.rmtree(wd)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f'{sdir}: oracle {"ok" if ok else "EMPTY bt (see oracle/crash-session.log)"}; '
          f'exception RIP: {m.group(1) + "+" + m.group(2) if m else None}')
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('scenarios', nargs='*')
    ap.add_argument('--force', action='store_true')
    a = ap.parse_args()
    if not shutil.which('crash'):
        subprocess.run(['apt-get', 'install', '-y', '-q', 'crash'], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
    cache = kernels.CACHE
    names = a.scenarios or sorted(n for n in os.listdir(cache) if not n.startswith(('.', '_'))
                                  and os.path.exists(os.path.join(cache, n, 'facts.json')))
    bad = [n for n in names if not oracle(os.path.join(cache, n), a.force)]
    if bad:
        print('no usable crash output for:', ' '.join(bad))


if __name__ == '__main__':
    main()
