#!/usr/bin/env python3
"""Real kdumps of the old kernels built from source (no BTF; 3.10 and 4.9 without ORC).

    oldkernels.py [--list] [--force] [SCENARIO ...]     (no scenario: all of OLD below)

The kernels are the prebuilt ones in $CRASHLENS_OLD_KERNELS (default /work/shared/kernels/<version>/:
bzImage, build-kit.tar.zst; see that folder's RECIPE.md). Kernels older than ~4.17 cannot hand QEMU
their VMCOREINFO, so every scenario here is dumped as customers do: kdump (`crashkernel=128M`, `kexec -p`
of the same bzImage, the capture kernel copies /proc/vmcore and runs makedumpfile).  The lab module
(mod/crashlens_lab.c) is compiled against each kernel's build kit with Debian bullseye's gcc-9 / gcc-10
(the compilers the kernels were built with), fetched through the lab's private bullseye apt lists and
unpacked with dpkg-deb -x; the source is adapted on the fly for pre-5.6 kernels (file_operations instead
of proc_ops, strlcpy, %p), so the module name, functions and the reference-case bug are the same.
Output: $CACHE/<scenario>/ as lab.py writes it (vmcore.elf, makedumpfile outputs, console.log, facts.json,
run.json with timings).  A scenario whose .key matches is skipped.
"""
import argparse, glob, json, os, re, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kernels  # noqa: E402
import lab  # noqa: E402

CACHE = kernels.CACHE
KDIR = os.environ.get('CRASHLENS_OLD_KERNELS') or os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'kernels'))
# version folder -> the compiler it was built with (RECIPE.md) and the CC string for its build kit
KERNELS = {
    '3.10.0-514.el7': dict(gcc='9', cc='gcc-9 -fno-pie -std=gnu89'),
    '4.9.337': dict(gcc='9', cc='gcc-9'),
    '4.19.222': dict(gcc='10', cc='gcc-10'),
}
KD = 'nokaslr crashkernel=128M'
OLD = {
    'old310-sysrq': dict(kernel='3.10.0-514.el7', mode='sysrq', doc='CentOS 7 3.10.0-514: echo c > /proc/sysrq-trigger'),
    'old310-nginx': dict(kernel='3.10.0-514.el7', mode='nginx', expect={'crashing_comm': 'nginx'},
                         doc='CentOS 7 3.10.0-514: reference case (nginx reads /proc/crashlens_lab)'),
    'old49-sysrq': dict(kernel='4.9.337', mode='sysrq', doc='4.9.337 (frame pointers): sysrq-c'),
    'old49-nginx': dict(kernel='4.9.337', mode='nginx', expect={'crashing_comm': 'nginx'},
                        doc='4.9.337: reference case'),
    'old419-sysrq': dict(kernel='4.19.222', mode='sysrq', doc='4.19.222 (ORC v1): sysrq-c'),
    'old419-nginx': dict(kernel='4.19.222', mode='nginx', expect={'crashing_comm': 'nginx'},
                         doc='4.19.222: reference case'),
}
# the kernel matrix: a NULL dereference and a lockup on every old line too
for _p, _k in (('old310', '3.10.0-514.el7'), ('old49', '4.9.337'), ('old419', '4.19.222')):
    OLD[f'{_p}-null'] = dict(kernel=_k, mode='null', doc=f'{_k}: NULL pointer dereference in a module function')
    OLD[f'{_p}-lockup'] = dict(kernel=_k, mode='lockup', append=KD + ' softlockup_panic=1 watchdog_thresh=2',
                               doc=f'{_k}: soft lockup (spin with preemption off), softlockup_panic=1')


def _has_lockup_detector(krel):
    try:
        cfg = open(os.path.join(KDIR, krel, 'config')).read()
    except OSError:
        return True
    return bool(re.search(r'^CONFIG_(SOFTLOCKUP_DETECTOR|LOCKUP_DETECTOR)=y', cfg, re.M))


# 4.9's and 4.19's builds (x86_64 defconfig) have no lockup detector (their config says so): a CPU
# stuck with preemption off is caught by RCU's stall detector instead, made fatal with
# kernel.panic_on_rcu_stall
for _n, _d in list(OLD.items()):
    if _n.endswith('-lockup') and not _has_lockup_detector(_d['kernel']):
        OLD[_n] = dict(kernel=_d['kernel'], mode='lockup', append=KD + ' labsysctl=kernel.panic_on_rcu_stall=1',
                       doc=f'{_d["kernel"]} (no lockup detector in its config): a CPU spinning with preemption '
                           'off, caught as an RCU stall, kernel.panic_on_rcu_stall=1')
DEFAULT = ['old310-sysrq', 'old419-sysrq', 'old49-sysrq', 'old310-nginx', 'old419-nginx', 'old49-nginx']
# the fast tier (scripts/test.sh): CentOS 7's kernel, kdumped — no BTF, no ORC, frame pointers, the
# old log format and RHEL's struct module, in one ~1 min scenario
FAST = ['old310-nginx']
FILES = ['oldkernels.py', 'lab.py', 'facts.py', 'kernels.py', 'mod/crashlens_lab.c', 'mod/nginx.c']
log = lab.log


def old_format(lines):
    """Console lines of pre-4.x reports in the form facts.py parses: 3.10 prints
    `RIP: 0010:[<addr>]  [<addr>] func+off/size` and Call Trace lines ` [<addr>] func+off/size`,
    and ends an IRQ stack with `<EOI>`."""
    out = []
    for l in lines:
        l = re.sub(r'^RIP: 0010:\[<[0-9a-f]+>\]\s+\[<[0-9a-f]+>\] ', 'RIP: 0010:', l)
        l = re.sub(r'^(\s+)\[<[0-9a-f]+>\] ', r'\1', l)
        out.append('</IRQ>' if l.strip() == '<EOI>' else l)
    return out


_lines_of = lab.factsmod.lines_of
lab.factsmod.lines_of = lambda path: old_format(_lines_of(path))
# the guest's own view of its tasks just before the crash (busybox ps), an oracle for `ps`/TASKS
PS_ORACLE = ('echo "CRASHLENS-PS-BEGIN"; ps -o pid,ppid,stat,comm 2>/dev/null || ps; '
             'echo "CRASHLENS-PS-END"\n')


def scn_def(name):
    d = dict(kind='kdump', mem=384, smp=2, cpu=lab.CPU4, append=KD, timeout=1500, name=name)
    d.update(OLD[name])
    return d


def gcc(major):
    """Debian bullseye's gcc-MAJOR unpacked (not installed) into $CACHE/_gcc/MAJOR; returns its bin dir."""
    root = os.path.join(CACHE, '_gcc', major)
    done = os.path.join(root, '.done')
    if not os.path.exists(done):
        os.makedirs(root, exist_ok=True)
        opts = kernels.bullseye_apt_opts()
        pkgs = [f'gcc-{major}', f'cpp-{major}', f'gcc-{major}-base', f'libgcc-{major}-dev']
        for deb in kernels.download(pkgs, opts, os.path.join(CACHE, '_debs')):
            lab.sh(['dpkg-deb', '-x', deb, root], check=True)
        open(done, 'w').write('ok\n')
    return os.path.join(root, 'usr/bin')


def kit(version):
    root = os.path.join(CACHE, '_oldkit', version)
    if not os.path.exists(os.path.join(root, '.done')):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        lab.sh(f'zstd -dc {KDIR}/{version}/build-kit.tar.zst | tar x -C {root}', check=True)
        open(os.path.join(root, '.done'), 'w').write('ok\n')
    return root


def old_source():
    """mod/crashlens_lab.c for kernels before 5.6 (proc_ops), 4.15 (%px) and 4.3 (strscpy)."""
    src = open(os.path.join(HERE, 'mod', 'crashlens_lab.c')).read()
    for a, b in (('struct proc_ops', 'struct file_operations'), ('.proc_read', '.read'),
                 ('.proc_lseek', '.llseek'), ('strscpy(', 'strlcpy('), ('%px', '%p')):
        if a not in src:
            raise SystemExit(f'crashlens_lab.c changed: {a!r} not found, update old_source()')
        src = src.replace(a, b)
    # READ_ONCE arrived in 3.19; 3.10 has ACCESS_ONCE
    return src.replace('#include <linux/preempt.h>',
                       '#include <linux/preempt.h>\n#ifndef READ_ONCE\n#define READ_ONCE(x) ACCESS_ONCE(x)\n#endif', 1)


def build_module(version):
    k = KERNELS[version]
    out = os.path.join(CACHE, '_build', f'{version}-{lab.src_hash()}')
    ko = os.path.join(out, 'crashlens_lab.ko')
    if os.path.exists(ko):
        return ko
    b = out + '.tmp'
    shutil.rmtree(b, ignore_errors=True)
    os.makedirs(b)
    open(os.path.join(b, 'crashlens_lab.c'), 'w').write(old_source())
    shutil.copy(os.path.join(HERE, 'mod', 'Makefile'), b)
    root = kit(version)
    env = dict(os.environ, PATH=gcc(k['gcc']) + ':' + os.environ['PATH'])
    r = lab.sh(['make', '-C', b, f'KDIR={root}/build', f'CC={k["cc"]}', f'HOSTCC=gcc-{k["gcc"]}'],
               capture_output=True, text=True, env=env)
    if r.returncode or not os.path.exists(os.path.join(b, 'crashlens_lab.ko')):
        raise SystemExit('module build failed:\n' + r.stdout[-3000:] + r.stderr[-3000:])
    shutil.rmtree(out, ignore_errors=True)
    os.rename(b, out)
    return ko


def mk_initramfs(out, version, ko, nginx):
    """First kernel: lab's init (module, user tasks, crash) after `kexec -p` of the same bzImage;
    capture kernel: lab's capture init (every driver is built in: no modules)."""
    kx = lab.kexec_root()
    c = out + '.capture.d'
    shutil.rmtree(c, ignore_errors=True)
    lab.mkroot(c)
    lab.copy_bin(c, shutil.which('makedumpfile') or '/usr/bin/makedumpfile', '/sbin/makedumpfile')
    with open(os.path.join(c, 'init'), 'w') as f:
        f.write(lab.CAPTURE_INIT.replace('$CAPMODS', ''))
    os.chmod(os.path.join(c, 'init'), 0o755)
    cap = out + '.capture.cpio.gz'
    lab.cpio(c, cap)
    w = out + '.kx.d'
    shutil.rmtree(w, ignore_errors=True)
    lab.mkroot(w)
    lab.copy_bin(w, os.path.join(kx, 'sbin/kexec'), '/sbin/kexec', libpath=os.path.join(kx, 'usr/lib/x86_64-linux-gnu'))
    tar = out + '.kx.tar'
    subprocess.run(['tar', 'cf', tar, '-C', w, 'sbin', 'lib', 'lib64'], check=True)
    shutil.rmtree(w)
    extra = [(os.path.join(KDIR, version, 'bzImage'), '/boot/vmlinuz'), (cap, '/boot/capture.cpio.gz'),
             (tar, '/boot/kexec.tar')]
    # The crash is kept on CPU 0: a 3.10 capture kernel started from CPU 1 (nr_cpus=1) hung in
    # kernel_init (soft lockup, no dump) when nginx happened to run there.
    init = ('taskset -p 1 $$ >/dev/null\n'
            f'CAPTURE_APPEND="nokaslr {lab.CAPTURE_APPEND}"\n'
            'tar xf /boot/kexec.tar -C / && rm -f /boot/kexec.tar\n'
            'echo "CRASHLENS-LAB: crashkernel $(cat /sys/kernel/kexec_crash_size) bytes"\n' + lab.KEXEC_LOAD
            + PS_ORACLE)
    mods = lab.mkinitramfs(out, '/nonexistent', ko, nginx, extra_init=init, extra_files=extra)
    os.unlink(tar)
    os.unlink(cap)
    return mods


def caller_of_prologue_fault(f, console):
    """Frame-pointer kernels (3.10, 4.9) print the caller of a function that faulted before
    pushing its frame as `? caller+off/size [module]` first in the Call Trace (the return address
    is at the stack pointer, which rbp does not reach). facts.py leaves '?' frames out, so its
    culprit would be the kernel function the module called; when that first entry lies in an
    out-of-tree (O/E) module, it is the caller: put it in the chain and make it the culprit."""
    lines = lab.factsmod.lines_of(console)
    ct = next((i for i, l in enumerate(lines) if l.strip() == 'Call Trace:'), None)
    if ct is None or not f.get('rip_function') or f.get('rip_module'):
        return f
    m = re.match(r'^\? ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[(\w+)\]$', lines[ct + 1].strip())
    tainted = dict(re.findall(r'(\w+)(?:\(([A-Z]+)\))?', f.get('modules_linked_in') or ''))
    fr = m and f'{m.group(1)} [{m.group(2)}]'
    if m and any(c in (tainted.get(m.group(2)) or '') for c in 'OE'):
        if fr not in f['call_chain']:
            f['call_chain'] = f['call_chain'][:1] + [fr] + f['call_chain'][1:]
        bt = f.get('bt_frames')
        if bt and bt[0] == f['rip_function'] and m.group(1) not in bt:
            f['bt_frames'] = bt[:1] + [m.group(1)] + bt[1:]
        f['culprit_function'], f['culprit_module'] = m.group(1), m.group(2)
        f['culprit_rule'] = ("first frame in a module tainted O/E: the Call Trace's first entry, printed "
                             "'?' by the frame-pointer unwinder because the RIP function faulted before "
                             "pushing its frame")
    return f


def refacts(out):
    """Applies the old-kernel fix-ups to a scenario's facts.json."""
    fp = os.path.join(out, 'facts.json')
    f = caller_of_prologue_fault(json.load(open(fp)), os.path.join(out, 'console.log'))
    json.dump(f, open(fp, 'w'), indent=1)
    return f


def restamp(name):
    """After refacts() of a built scenario: its .key for the current scripts (the dump itself
    does not depend on the fix-ups)."""
    d = scn_def(name)
    bz = os.path.join(KDIR, d['kernel'], 'bzImage')
    key = lab.sha((json.dumps(d, sort_keys=True) + files_hash() + lab.sha(open(bz, 'rb').read())).encode())
    open(os.path.join(CACHE, name, '.key'), 'w').write(key + '\n')


def files_hash():
    h = lab.hashlib.sha256()
    for f in FILES:
        h.update(f.encode() + b'\0' + open(os.path.join(HERE, f), 'rb').read())
    return h.hexdigest()


def run_scenario(name, force=False):
    d = scn_def(name)
    final = os.path.join(CACHE, name)
    bz = os.path.join(KDIR, d['kernel'], 'bzImage')
    key = lab.sha((json.dumps(d, sort_keys=True) + files_hash() + lab.sha(open(bz, 'rb').read())).encode())
    if not force and lab.is_cached(final, key, d):
        return
    out = os.path.join(CACHE, f'.{name}.building')
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    run = {'scenario': name, 'definition': d, 'timings_s': {}}
    T = run['timings_s']
    t0 = time.time()
    ko = build_module(d['kernel'])
    nginx = lab.build_nginx()
    T['build'] = round(time.time() - t0, 1)
    t = time.time()
    initrd = os.path.join(out, 'initramfs.cpio.gz')
    run['guest_modules'] = mk_initramfs(initrd, d['kernel'], ko, nginx)
    T['initramfs'] = round(time.time() - t, 1)
    t = time.time()
    lab.run_kdump(d, out, bz, initrd, run)
    T['guest_and_dump'] = round(time.time() - t, 1)
    t = time.time()
    lab.postprocess(d, out, run, ko)
    f = refacts(out)
    T['makedumpfile_and_facts'] = round(time.time() - t, 1)
    T['total'] = round(time.time() - t0, 1)
    run['kernel_dir'] = os.path.join(KDIR, d['kernel'])
    run['files'] = {x: os.path.getsize(os.path.join(out, x)) for x in sorted(os.listdir(out))
                    if os.path.isfile(os.path.join(out, x))}
    open(os.path.join(out, 'run.json'), 'w').write(json.dumps(run, indent=1).replace(out, final))
    for x in os.listdir(out):
        os.chmod(os.path.join(out, x), 0o644)
    open(os.path.join(out, '.key'), 'w').write(key + '\n')
    old = os.path.join(CACHE, f'.{name}.old')
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(out, final)
    shutil.rmtree(old, ignore_errors=True)
    log(f'{name}: done in {T["total"]} s -> {final}')
    log(f'{name}: {f["panic_message_first_line"]} | RIP {f["rip_function"]} [{f["rip_module"]}] | '
        f'{f["crashing_comm"]} pid {f["crashing_pid"]} | culprit {f["culprit_function"]} [{f["culprit_module"]}]')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('scenarios', nargs='*')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--all', action='store_true', help='every old-kernel scenario')
    ap.add_argument('--fast', action='store_true', help='the fast tier: ' + ' '.join(FAST))
    ap.add_argument('--force', action='store_true')
    ap.add_argument('--refacts', action='store_true', help='re-derive facts.json of built scenarios, no guest run')
    a = ap.parse_args()
    if a.list:
        for n in OLD:
            print(f'{n:14s} {OLD[n]["kernel"]:16s} {OLD[n]["doc"]}')
        return
    names = a.scenarios or (FAST if a.fast else list(OLD) if a.all else DEFAULT)
    bad = [n for n in names if n not in OLD]
    if bad:
        raise SystemExit(f'unknown scenario(s): {bad}; known: {", ".join(OLD)}')
    if a.refacts:
        for n in names:
            if os.path.exists(os.path.join(CACHE, n, 'facts.json')):
                lab.reparse(os.path.join(CACHE, n), n)   # facts.py may have changed
                refacts(os.path.join(CACHE, n))
                restamp(n)
        return
    failed = []
    for n in names:
        try:
            run_scenario(n, a.force)
        except (SystemExit, Exception) as e:
            log(f'{n}: FAILED: {e}')
            failed.append(n)
    if failed:
        log('failed:', ' '.join(failed))
        sys.exit(1)


if __name__ == '__main__':
    main()
