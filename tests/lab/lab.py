#!/usr/bin/env python3
"""crashlens dump lab: boot a Debian kernel under QEMU/TCG, crash it in a chosen way, write real vmcores.

    lab.py [--list] [--force] [--fast | --all] [SCENARIO ...]
        no scenario: the default set (DEFAULT); --fast: the fast tier (FAST); --all: every scenario

Output per scenario in $CRASHLENS_LAB_CACHE/<scenario>/ (default ~/.cache/crashlens/lab/<scenario>/):
  vmcore.elf                QEMU dump-guest-memory ELF (or /proc/vmcore for kdump scenarios)
  vmcore.qemu-kdump-{zlib,lzo,snappy}  QEMU's own kdump-compressed output (flattened), as QEMU wrote it
  vmcore.d31-zlib.kdump ... makedumpfile outputs (see MDF below), vmcore.dmesg.txt (--dump-dmesg)
  console.log, facts.json (derived from console.log by facts.py), vmcoreinfo.txt, readelf-notes.txt,
  crashlens_lab.ko (the exact module loaded), initramfs.cpio.gz, run.json (commands, timings, sizes)
A scenario whose .key (hash of its definition and of the lab's scripts/module source) matches is skipped.
"""
import argparse, glob, hashlib, json, os, re, select, shutil, socket, struct, subprocess, sys, tarfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import facts as factsmod  # noqa: E402
import kernels  # noqa: E402
import kdump2elf  # noqa: E402

CACHE = kernels.CACHE
K61 = '6.1.0-56-cloud-amd64'
K510 = '5.10.0-32-cloud-amd64'
# Debian's newer kernels (kernels.py: private apt lists of trixie, trixie-backports, sid, experimental)
K612T = '6.12.117+deb13-cloud-amd64'     # trixie
# trixie-backports' 6.19 / 7.0 / 7.1 are not here: the archive keeps only their signed
# linux-binary-* (vmlinuz); their linux-modules-* and linux-headers-* left with the source upload
# that replaced them, so neither pvpanic/qemu_fw_cfg nor the lab module can be had for them.
K72 = '7.2.13+deb14-cloud-amd64'         # sid (built with gcc-16)
K73 = '7.3.4+deb13-cloud-amd64'          # trixie-backports
K73RT = '7.3.4+deb13-rt-amd64'           # trixie-backports, PREEMPT_RT
# The generic (non-cloud) flavour: the 6.1 cloud kernel has no CONFIG_X86_MCE (7.3 cloud has it)
K61G = '6.1.0-56-amd64'
# A fatal machine check injected from QEMU's monitor (HMP `mce cpu bank status mcg_status addr misc`):
# MCi_STATUS VAL|UC|EN|MISCV|ADDRV|PCC with MCA code 0x009f (memory controller error: memory
# read, channel unspecified); MCG_STATUS MCIP|EIPV (no restart IP); ADDR a guest-physical
# address; MISC address mode 2 (physical) with LSB 6.
MCE_HMP = 'mce 1 1 0xbe0000000000009f 0x6 0x2345000 0x86'
SOFT = ' softlockup_panic=1 watchdog_thresh=2'
RCU = ' sysctl.kernel.panic_on_rcu_stall=1 rcupdate.rcu_cpu_stall_timeout=3'   # a sysctl, not a boot parameter
CPU4 = 'max,la57=off'          # TCG, 4-level paging
IOF = 'init_on_free=1'         # freed memory is zero: small compressed dumps
# hung_task_panic= is a boot parameter (kernel/hung_task.c __setup); the timeout is a sysctl only,
# set from the command line through the generic sysctl.* boot parameters (5.8+)
HUNG = ' hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=5'

# name -> definition.  kind: pvpanic (QEMU pauses on pvpanic, QMP dump) | kdump (kexec capture kernel)
SCENARIOS = {
    'null':      dict(kernel=K61, mode='null', append=IOF, doc='NULL pointer dereference in a module function'),
    'bug':       dict(kernel=K61, mode='bug', append=IOF, doc='BUG() in a module'),
    'gpf':       dict(kernel=K61, mode='gpf', append=IOF,
                      doc='GPF: read through a list_del()ed entry, non-canonical LIST_POISON1 0xdead000000000100'),
    'uaf':       dict(kernel=K61, mode='uaf', append='slub_debug=P',
                      doc='use after kfree() with slab poisoning: pointer 0x6b6b6b6b6b6b6b6b (GPF)'),
    'divide':    dict(kernel=K61, mode='divide', append=IOF, doc='divide error (integer division by zero)'),
    'warn':      dict(kernel=K61, mode='warn', append=IOF + ' panic_on_warn=1', doc='WARN_ON() with panic_on_warn=1'),
    'panic':     dict(kernel=K61, mode='panic', append=IOF, doc='explicit panic() from a module'),
    'sysrq':     dict(kernel=K61, mode='sysrq', append=IOF, doc='echo c > /proc/sysrq-trigger (deliberate crash)'),
    'stack':     dict(kernel=K61, mode='stack', append=IOF, doc='unbounded recursion: kernel stack guard page hit'),
    'lockup':    dict(kernel=K61, mode='lockup', append=IOF + ' softlockup_panic=1 watchdog_thresh=2',
                      doc='soft lockup (spin with preemption off), softlockup_panic=1'),
    'spinlock':  dict(kernel=K61, mode='spinlock', append=IOF + SOFT,
                      doc='soft lockup on a spinlock: lab_spin_take returns with lab_spin_lock held, '
                          'lab_spin_again spins on it'),
    'rcu-stall': dict(kernel=K61, mode='rcu', append=IOF + RCU,
                      doc='RCU stall: spin inside rcu_read_lock() with preemption off, panic_on_rcu_stall=1'),
    'mce':       dict(kernel=K61G, mode='mce', append=IOF, hmp=[MCE_HMP],
                      doc='fatal machine check injected on CPU 1 from QEMU\'s monitor (6.1 generic flavour)'),
    'init-exit': dict(kernel=K61, mode='initexit', append=IOF,
                      doc='init (PID 1, the lab\'s shell script) exits with status 3: "Attempted to kill init! '
                          'exitcode=0x00000300"'),
    'deadlock':  dict(kernel=K61, mode='deadlock', append=IOF + HUNG,
                      doc='ABBA deadlock: kernel threads lab_abba_1/lab_abba_2 take the module\'s mutexes lab_lock_a '
                          'and lab_lock_b in opposite order; hung_task_panic=1 after 5 s in D state'),
    'hung':      dict(kernel=K61, mode='hung', append=IOF + HUNG,
                      doc='hung task without a cycle: lab_holder takes lab_lock_hung and sleeps for ever, '
                          'lab_waiter blocks on it; hung_task_panic=1 after 5 s'),
    'rwsem':     dict(kernel=K61, mode='rwsem', append=IOF + HUNG,
                      doc='hung task on an rw_semaphore: lab_writer takes lab_rwsem with down_write() and sleeps '
                          'for ever, lab_reader blocks in down_read(); hung_task_panic=1 after 5 s'),
    'completion': dict(kernel=K61, mode='completion', append=IOF + HUNG,
                       doc='hung task on a completion: lab_done_wait waits for lab_done, which only a worker that '
                           'is never started completes; hung_task_panic=1 after 5 s'),
    'pagelock':  dict(kernel=K61, mode='pagelock', append=IOF + HUNG,
                      doc='hung task on a page lock: lab_pagelock locks a page and locks it again; '
                          'hung_task_panic=1 after 5 s'),
    'spinhold':  dict(kernel=K61, mode='spinhold', append=IOF + SOFT,
                      doc='soft lockup on a spinlock held on another CPU: lab_poller (CPU 1) polls inside '
                          'lab_hold_lock\'s critical section for ever, lab_spinner (CPU 0) spins on it'),
    'oom-user':  dict(kernel=K61, mode='oomuser', append=IOF + ' sysctl.vm.panic_on_oom=1',
                      doc='OOM panic (vm.panic_on_oom=1, no swap): three user-space memhog processes take '
                          'all memory'),
    'oom-leak':  dict(kernel=K61, mode='oomleak', append=IOF + ' sysctl.vm.panic_on_oom=1',
                      doc='OOM panic (vm.panic_on_oom=1): the module leaks objects of its own slab cache '
                          'crashlens_lab_leak'),
    'listcorrupt': dict(kernel=K61, mode='listcorrupt', append=IOF,
                        doc='list_add corruption (CONFIG_DEBUG_LIST, BUG_ON_DATA_CORRUPTION): a stale '
                            'pointer in the tail node of the module\'s lab_list'),
    'dfree':     dict(kernel=K61, mode='dfree', append='slub_debug=FZPU panic_on_taint=0x20',
                      doc='SLUB double free (slub_debug=FZPU: U keeps the alloc/free sites; panic_on_taint=0x20: the B taint panics)'),
    'redzone':   dict(kernel=K61, mode='redzone', append='slub_debug=FZPU panic_on_taint=0x20',
                      doc='SLUB red zone: a module writes 8 bytes past a 32-byte kmalloc buffer, kfree() finds '
                          'it (slub_debug=FZPU, panic_on_taint=0x20: the B taint panics)'),
    'poison':    dict(kernel=K61, mode='poison', append='slub_debug=FZPU panic_on_taint=0x20',
                      doc='SLUB poison: a module writes to a record of its own cache after freeing it; the '
                          'next allocation from the cache finds the poison overwritten (panic_on_taint=0x20)'),
    'badpage':   dict(kernel=K61, mode='badpage', append=IOF + ' panic_on_taint=0x20',
                      doc='"BUG: Bad page state": a module frees a page whose mapcount it left raised '
                          '(panic_on_taint=0x20: the B taint panics)'),
    'canary':    dict(kernel=K61, mode='canary', append=IOF,
                      doc='stack protector: a module function overflows a local char array past the canary'),
    'ref-nginx': dict(kernel=K61, mode='nginx', append=IOF, expect={'crashing_comm': 'nginx'},
                      doc='reference case: read() handler frees a never-allocated page, __free_pages(NULL, 0), '
                          'read by a process named nginx'),
    'la57':      dict(kernel=K61, mode='null', cpu='max', append=IOF, expect={'pgtable_l5_enabled': 1},
                      doc='5-level paging (-cpu max, la57 on): NULL dereference; pgtable_l5_enabled=1 checked'),
    'big-4g':    dict(kernel=K61, mode='nginx', mem=4200, append='', timeout=900, expect={'min_elf_bytes': 4 << 30},
                      doc='4200 MiB guest: ELF dump > 4 GiB (reference-case crash), all makedumpfile variants'),
    'seed-machine': dict(kernel=K61, mode='nginx', mem=131072, smp=32, append='', timeout=5400, lazy_ram=True,
                         qemu_formats=['kdump-zlib'], mdf=['vmcore.d31-zlib.kdump', 'vmcore.d31-lzo.kdump'],
                         expect={'crashing_comm': 'nginx'},
                         doc='the reference article\'s machine: 32 vCPUs, 128 GiB (QEMU allocates lazily: the host holds '
                             'what the guest touched), reference case; QEMU kdump-zlib (zero pages not stored) and '
                             'makedumpfile -d 31 from a sparse ELF made of it (no 128 GiB ELF is written)'),
    'kdump':     dict(kernel=K61, kind='kdump', mode='nginx', mem=384, append=IOF + ' crashkernel=128M',
                      doc='real kdump: kexec capture kernel saves /proc/vmcore (crash-path CPU state), '
                          'reference-case crash'),
    'kdump-cpu1': dict(kernel=K61, kind='kdump', mode='nginx', mem=384, append=IOF + ' crashkernel=128M crashcpu=1',
                       expect={'crashing_cpu': 1, 'crashing_comm': 'nginx'},
                       doc='real kdump, reference case crashing on CPU 1 (the nginx reader pinned with taskset -c 1): '
                           'the crashing CPU is not the first NT_PRSTATUS note'),
    'bullseye-null':  dict(kernel=K510, mode='null', append=IOF, expect={'vmcoreinfo_has_kallsyms': False}, doc='Debian 11 5.10.0-32 cloud kernel: NULL dereference'),
    'bullseye-nginx': dict(kernel=K510, mode='nginx', append=IOF, doc='Debian 11 5.10.0-32 cloud kernel: reference case'),
    'nokaslr':   dict(kernel=K61, mode='nginx', append=IOF + ' nokaslr',
                      doc='reference case with KASLR off (as CentOS 7 boots): fixed kernel and direct-map bases'),
    'trixie-sysrq': dict(kernel=K612T, mode='sysrq', append=IOF, doc='Debian 13 6.12 cloud kernel: sysrq-c'),
    'trixie-nginx': dict(kernel=K612T, mode='nginx', append=IOF, expect={'crashing_comm': 'nginx'},
                         doc='Debian 13 6.12 cloud kernel: reference case'),
    'k72-sysrq': dict(kernel=K72, mode='sysrq', append=IOF, doc='sid 7.2 cloud kernel: sysrq-c'),
    'k72-nginx': dict(kernel=K72, mode='nginx', append=IOF, expect={'crashing_comm': 'nginx'},
                      doc='sid 7.2 cloud kernel: reference case'),
    'k73-sysrq': dict(kernel=K73, mode='sysrq', append=IOF, doc='trixie-backports 7.3 cloud kernel: sysrq-c'),
    'k73-nginx': dict(kernel=K73, mode='nginx', append=IOF, expect={'crashing_comm': 'nginx'},
                      doc='trixie-backports 7.3 cloud kernel: reference case'),
    'k73-lockup': dict(kernel=K73, mode='lockup', append=IOF + ' softlockup_panic=1 watchdog_thresh=2',
                       doc='trixie-backports 7.3 cloud kernel: soft lockup, softlockup_panic=1'),
    'k73-init-exit': dict(kernel=K73, mode='initexit', append=IOF,
                          doc='trixie-backports 7.3 cloud kernel: init exits with status 3'),
    'k73-deadlock': dict(kernel=K73, mode='deadlock', append=IOF + HUNG,
                         doc='trixie-backports 7.3 cloud kernel: ABBA deadlock on two module mutexes, '
                             'hung_task_panic=1'),
    'k73-rwsem': dict(kernel=K73, mode='rwsem', append=IOF + HUNG,
                      doc='trixie-backports 7.3 cloud kernel: hung task on an rw_semaphore held for writing'),
    'k73-completion': dict(kernel=K73, mode='completion', append=IOF + HUNG,
                           doc='trixie-backports 7.3 cloud kernel: hung task on a completion nobody completes'),
    'k73-pagelock': dict(kernel=K73, mode='pagelock', append=IOF + HUNG,
                         doc='trixie-backports 7.3 cloud kernel: hung task on a page lock taken twice'),
    'k73-spinhold': dict(kernel=K73, mode='spinhold', append=IOF + SOFT,
                         doc='trixie-backports 7.3 cloud kernel: soft lockup on a spinlock held inside a '
                             'critical section on another CPU'),
    'k73-spinlock': dict(kernel=K73, mode='spinlock', append=IOF + SOFT,
                         doc='trixie-backports 7.3 cloud kernel: soft lockup on a spinlock never released'),
    'k73-rcu-stall': dict(kernel=K73, mode='rcu', append=IOF + RCU,
                          doc='trixie-backports 7.3 cloud kernel: RCU stall inside rcu_read_lock()'),
    'k73-mce':   dict(kernel=K73, mode='mce', append=IOF, hmp=[MCE_HMP],
                      doc='trixie-backports 7.3 cloud kernel (CONFIG_X86_MCE=y): fatal machine check from '
                          'QEMU\'s monitor'),
    # Hard lockup: interrupts off. Debian builds only the perf NMI watchdog (no buddy detector) and
    # TCG has no PMU, so the console says "Perf NMI watchdog permanently disabled"; the RCU stall
    # detector of the other CPU catches the CPU instead (its NMI backtrace works under TCG).
    'k73-hardlockup': dict(kernel=K73, mode='hardlockup', timeout=120,
                           append=IOF + ' nmi_watchdog=1 hardlockup_panic=1 watchdog_thresh=2' + RCU,
                           doc='trixie-backports 7.3 cloud kernel: spin with interrupts off; no NMI watchdog '
                               'under TCG, the RCU stall detector panics'),
    'k73-oom-user': dict(kernel=K73, mode='oomuser', append=IOF + ' sysctl.vm.panic_on_oom=1',
                         doc='trixie-backports 7.3 cloud kernel: OOM panic, user-space memhog processes'),
    'k73-oom-leak': dict(kernel=K73, mode='oomleak', append=IOF + ' sysctl.vm.panic_on_oom=1',
                         doc='trixie-backports 7.3 cloud kernel: OOM panic, module slab cache leak'),
    'k73-listcorrupt': dict(kernel=K73, mode='listcorrupt', append=IOF,
                            doc='trixie-backports 7.3 cloud kernel: list_add corruption'),
    'k73-dfree': dict(kernel=K73, mode='dfree', append='slub_debug=FZPU panic_on_taint=0x20',
                      doc='trixie-backports 7.3 cloud kernel: SLUB double free'),
    'k73-redzone': dict(kernel=K73, mode='redzone', append='slub_debug=FZPU panic_on_taint=0x20',
                        doc='trixie-backports 7.3 cloud kernel: SLUB red zone overwritten past a kmalloc buffer'),
    'k73-poison': dict(kernel=K73, mode='poison', append='slub_debug=FZPU panic_on_taint=0x20',
                       doc='trixie-backports 7.3 cloud kernel: SLUB poison overwritten (write after free)'),
    'k73-badpage': dict(kernel=K73, mode='badpage', append=IOF + ' panic_on_taint=0x20',
                        doc='trixie-backports 7.3 cloud kernel: Bad page state'),
    'k73-canary': dict(kernel=K73, mode='canary', append=IOF,
                       doc='trixie-backports 7.3 cloud kernel: stack protector canary overwritten'),
    'k73rt-sysrq': dict(kernel=K73RT, mode='sysrq', append=IOF,
                        doc='trixie-backports 7.3 PREEMPT_RT kernel: sysrq-c'),
    'k73rt-nginx': dict(kernel=K73RT, mode='nginx', append=IOF, expect={'crashing_comm': 'nginx'},
                        doc='trixie-backports 7.3 PREEMPT_RT kernel: reference case'),
}
# The kernel matrix (issue 16): every kernel line gets a NULL dereference, sysrq-c, the reference
# case and a lockup; the lines above that lack one get it here, named <line>-<mode>.
LOCKUP = IOF + ' softlockup_panic=1 watchdog_thresh=2'
for _line, _k in (('bullseye', K510), ('trixie', K612T), ('k72', K72), ('k73', K73), ('k73rt', K73RT)):
    for _mode, _doc, _app in (('null', 'NULL pointer dereference in a module function', IOF),
                              ('sysrq', 'echo c > /proc/sysrq-trigger', IOF),
                              ('nginx', 'reference case', IOF),
                              ('lockup', 'soft lockup, softlockup_panic=1', LOCKUP)):
        _n = f'{_line}-{_mode}'
        if _n not in SCENARIOS:
            SCENARIOS[_n] = dict(kernel=_k, mode=_mode, append=_app, doc=f'{_k}: {_doc}')
SCENARIOS['k73-kdump'] = dict(kernel=K73, kind='kdump', mode='nginx', mem=384, append=IOF + ' crashkernel=128M',
                              expect={'crashing_comm': 'nginx'},
                              doc='trixie-backports 7.3 cloud kernel: real kdump (kexec capture kernel) of the '
                                  'reference case')
# not in DEFAULT yet (the test tiers decide): trixie-sysrq trixie-nginx k72-sysrq k72-nginx k73-sysrq
# k73-nginx k73-lockup k73rt-sysrq k73rt-nginx
DEFAULT = ['null', 'bug', 'gpf', 'uaf', 'divide', 'warn', 'panic', 'sysrq', 'stack', 'lockup', 'ref-nginx',
           'la57', 'kdump', 'kdump-cpu1', 'bullseye-null', 'bullseye-nginx', 'nokaslr', 'big-4g']
# The fast tier (scripts/test.sh, CI): one scenario per capability the tests hold the lab to --
# a NULL dereference (the fixture-like dump the tests fall back on), the reference case, BUG(), a
# lockup, 5-level paging, KASLR off, 5.10 without kallsyms keys, a real kdump on CPU 1, and the
# newest line (7.3: its renumbered ORC registers), and three crash classes that are not a bad
# pointer (an ABBA deadlock, a spinlock never released, a module's slab leak to OOM). tests/lab/run.sh --fast adds CentOS 7's 3.10
# (oldkernels.py FAST) when the prebuilt old kernels are there.
FAST = ['null', 'ref-nginx', 'bug', 'lockup', 'la57', 'nokaslr', 'bullseye-null', 'kdump-cpu1', 'k73-nginx',
        'deadlock', 'spinlock', 'oom-leak']

# makedumpfile variants: output name -> arguments (input/output appended)
MDF = [
    ('vmcore.d31-zlib.kdump', ['-c', '-d', '31']),
    ('vmcore.d31-lzo.kdump', ['-l', '-d', '31']),
    ('vmcore.d1-raw.kdump', ['-d', '1']),                    # uncompressed pages, zero pages excluded
    ('vmcore.d0-zlib.kdump', ['-c', '-d', '0']),              # nothing excluded: every page present
    ('vmcore.d31.elf', ['-E', '-d', '31']),
    ('vmcore.d31-zlib.flat', ['-F', '-c', '-d', '31']),       # flattened, written to stdout
    ('vmcore.d31-lzo.split', ['--split', '-l', '-d', '31']),  # -> .split.1 .split.2
]
LAB_FILES = ['lab.py', 'facts.py', 'kernels.py', 'elf_phdr64.py', 'kdump2elf.py', 'run.sh', 'mod/crashlens_lab.c',
             'mod/Makefile', 'mod/nginx.c', 'mod/memhog.c']


def log(*a):
    print('[lab]', *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log('+', cmd if isinstance(cmd, str) else ' '.join(cmd))
    return subprocess.run(cmd, shell=isinstance(cmd, str), **kw)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def scripts_hash():
    h = hashlib.sha256()
    for f in LAB_FILES:
        h.update(f.encode() + b'\0' + open(os.path.join(HERE, f), 'rb').read())
    return h.hexdigest()


def src_hash():
    h = hashlib.sha256()
    for f in ('mod/crashlens_lab.c', 'mod/Makefile', 'mod/nginx.c', 'mod/memhog.c'):
        h.update(open(os.path.join(HERE, f), 'rb').read())
    return h.hexdigest()[:16]


def is_cached(out, key, d):
    """A built scenario is kept when its .key matches (its definition and the lab's scripts and module
    source are unchanged). With CRASHLENS_LAB_REUSE=1 (a developer's choice while the lab grows; CI
    never sets it) one whose definition is unchanged is kept too when only the scripts changed:
    adding a crash mode to the module then rebuilds only the scenarios that use it."""
    name = os.path.basename(out)
    kf, ff, rf = (os.path.join(out, x) for x in ('.key', 'facts.json', 'run.json'))
    if not (os.path.exists(kf) and os.path.exists(ff)):
        return False
    if open(kf).read().strip() == key:
        log(f'{name}: cached in {out}')
        return True
    if os.environ.get('CRASHLENS_LAB_REUSE') == '1' and os.path.exists(rf):
        was = json.load(open(rf)).get('definition')
        if was is not None and json.dumps(was, sort_keys=True) == json.dumps(d, sort_keys=True):
            log(f'{name}: reused from {out} (CRASHLENS_LAB_REUSE=1: definition unchanged, lab scripts changed)')
            return True
    return False


def scn_def(name):
    d = dict(kind='pvpanic', mem=128, smp=2, cpu=CPU4, append='', timeout=400)
    d.update(SCENARIOS[name])
    return d


# ------------------------------------------------------------------ build
def build_module(krel, hdr):
    out = os.path.join(CACHE, '_build', f'{krel}-{src_hash()}')
    ko = os.path.join(out, 'crashlens_lab.ko')
    if os.path.exists(ko):
        return ko
    b = out + '.tmp'
    shutil.rmtree(b, ignore_errors=True)
    # built with the kernel's own gcc: in a chroot of its suite when the host's differs (kernels.py)
    chroot, kdir, cc, pre = kernels.build_cmd(krel, hdr)
    where = b
    if chroot:
        where = f'/build/{krel}-{src_hash()}'
        b = chroot + where
        shutil.rmtree(b, ignore_errors=True)
    os.makedirs(b)
    for f in ('crashlens_lab.c', 'Makefile'):
        shutil.copy(os.path.join(HERE, 'mod', f), b)
    r = sh(pre + ['make', '-C', where, f'KDIR={kdir}', f'CC={cc}'], capture_output=True, text=True)
    if r.returncode or not os.path.exists(os.path.join(b, 'crashlens_lab.ko')):
        raise SystemExit('module build failed:\n' + r.stdout[-3000:] + r.stderr[-3000:])
    shutil.rmtree(out, ignore_errors=True)
    if chroot:
        shutil.copytree(b, out)
        shutil.rmtree(b)
    else:
        os.rename(b, out)
    return ko


def build_prog(name):
    """A static, libc-free user program of mod/ (nginx, memhog)."""
    out = os.path.join(CACHE, '_build', f'{name}-{src_hash()}')
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = sh(['gcc', '-static', '-nostdlib', '-O2', '-fno-stack-protector', '-fno-pie', '-no-pie',
                '-o', out + '.tmp', os.path.join(HERE, 'mod', name + '.c')], capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(f'{name} build failed:\n' + r.stderr)
        os.rename(out + '.tmp', out)
    return out


def build_nginx():
    return build_prog('nginx')


def find_ko(modroot, name):
    for root, _, files in os.walk(modroot):
        for f in files:
            if f in (name + '.ko', name + '.ko.xz'):
                return os.path.join(root, f)
    return None


def add_ko(modroot, name, dest):
    p = find_ko(modroot, name)
    if not p:
        return False
    if p.endswith('.xz'):
        with open(os.path.join(dest, name + '.ko'), 'wb') as o:
            subprocess.run(['xz', '-dc', p], stdout=o, check=True)
    else:
        shutil.copy(p, os.path.join(dest, name + '.ko'))
    return True


def copy_bin(root, binary, dest, libpath=None):
    """Copy a dynamically linked program and its shared-library closure (ldd) into rootfs root."""
    os.makedirs(os.path.dirname(root + dest), exist_ok=True)
    shutil.copy(binary, root + dest)
    env = dict(os.environ)
    if libpath:
        env['LD_LIBRARY_PATH'] = libpath
    out = subprocess.run(['ldd', binary], capture_output=True, text=True, env=env).stdout
    for l in out.splitlines():
        if 'not found' in l:
            raise SystemExit(f'{binary}: {l.strip()}')
        m = re.search(r'=> (/\S+)', l) or re.match(r'\s*(/\S+)', l)
        if m:
            lib = m.group(1)
            d = root + ('/lib64' if 'ld-linux' in lib else '/lib/x86_64-linux-gnu') + '/' + os.path.basename(lib)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy(os.path.realpath(lib), d)


def mkroot(w):
    for d in ('bin', 'sbin', 'proc', 'sys', 'dev', 'tmp', 'mods', 'etc', 'boot', 'usr/sbin'):
        os.makedirs(os.path.join(w, d), exist_ok=True)
    shutil.copy('/bin/busybox', os.path.join(w, 'bin/busybox'))


def cpio(w, out):
    with open(out, 'wb') as o:
        p1 = subprocess.Popen('find . | cpio -o -H newc --quiet', shell=True, cwd=w, stdout=subprocess.PIPE)
        subprocess.run(['gzip', '-6'], stdin=p1.stdout, stdout=o, check=True)
        p1.wait()
    shutil.rmtree(w)


INIT_HEAD = '''#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
for m in $LABMODS; do
  insmod /mods/$m.ko && echo "CRASHLENS-LAB: loaded $m" || echo "CRASHLENS-LAB: FAILED $m"
done
'''
INIT_CRASH = '''# some user tasks so the dump holds more than kernel threads
sleep 100000 &
sh -c 'while :; do sleep 1; done' &
echo "lab data" > /tmp/lab.txt
mode=$(sed -n 's/.*crashmode=\\([a-z0-9]*\\).*/\\1/p' /proc/cmdline)
[ -n "$mode" ] || mode=null
# labsysctl=a.b=1,c.d=2: sysctls set before the crash (for kernels without sysctl.* on the command line)
for s in $(sed -n 's/.*labsysctl=\\([^ ]*\\).*/\\1/p' /proc/cmdline | tr , ' '); do
  echo "$s" | { IFS== read -r k v; echo "$v" > "/proc/sys/$(echo "$k" | tr . /)" && echo "CRASHLENS-LAB: sysctl $k=$v"; }
done
# crashcpu=N: the crashing reader runs pinned to CPU N (taskset), so the crash is on a CPU other than 0
cpu=$(sed -n 's/.*crashcpu=\\([0-9]*\\).*/\\1/p' /proc/cmdline)
# panic_on_oom: boot sysctl.vm.panic_on_oom=1 where the kernel takes sysctl.* (5.8+), else set here
oom_on() { [ "$(cat /proc/sys/vm/panic_on_oom)" = 1 ] || echo 1 > /proc/sys/vm/panic_on_oom
  echo "CRASHLENS-LAB: vm.panic_on_oom=$(cat /proc/sys/vm/panic_on_oom), swap: $(grep -c . /proc/swaps) lines"; }
echo "CRASHLENS-LAB: uptime $(cut -d' ' -f1 /proc/uptime)s, triggering crash mode=$mode"
case "$mode" in
  sysrq) sh -c 'echo c > /proc/sysrq-trigger' ;;
  nginx) if [ -n "$cpu" ]; then taskset -c "$cpu" /usr/sbin/nginx; else /usr/sbin/nginx; fi ;;
  none)  exec sh ;;
  initexit) echo "CRASHLENS-LAB: init exits with status 3"; exit 3 ;;
  mce)   echo "CRASHLENS-LAB: waiting for a machine check from QEMU's monitor"; sleep 100000 ;;
  oomuser) oom_on; for i in 1 2 3; do /usr/sbin/memhog & done; wait ;;
  oomleak) oom_on; sh -c "echo $mode > /sys/kernel/debug/crashlens_lab/provoke" ;;
  *)     sh -c "echo $mode > /sys/kernel/debug/crashlens_lab/provoke" ;;
esac
echo "CRASHLENS-LAB: still alive?!"
sleep 30
exec sh
'''


def mkinitramfs(out, modroot, ko, nginx, extra_init='', extra_files=()):
    w = out + '.d'
    shutil.rmtree(w, ignore_errors=True)
    mkroot(w)
    mods = []
    for m in ('qemu_fw_cfg', 'pvpanic', 'pvpanic-mmio', 'pvpanic-pci'):
        if add_ko(modroot, m, os.path.join(w, 'mods')):
            mods.append(m)
    shutil.copy(ko, os.path.join(w, 'mods/crashlens_lab.ko'))
    mods.append('crashlens_lab')
    shutil.copy(nginx, os.path.join(w, 'usr/sbin/nginx'))
    shutil.copy(build_prog('memhog'), os.path.join(w, 'usr/sbin/memhog'))
    for src, dst in extra_files:
        os.makedirs(os.path.dirname(w + dst), exist_ok=True)
        shutil.copy(src, w + dst)
    with open(os.path.join(w, 'init'), 'w') as f:
        f.write(INIT_HEAD.replace('$LABMODS', ' '.join(mods)) + extra_init + INIT_CRASH)
    os.chmod(os.path.join(w, 'init'), 0o755)
    cpio(w, out)
    return mods


# ------------------------------------------------------------------ QEMU (pvpanic + QMP dump)
class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.buf = b''
        self.events = []
        self.recv()
        self.cmd('qmp_capabilities')

    def recv(self, timeout=None):
        end = None if timeout is None else time.time() + timeout
        while b'\n' not in self.buf:
            left = None if end is None else max(0.0, end - time.time())
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                raise TimeoutError
            c = self.s.recv(65536)
            if not c:
                raise EOFError('QMP closed')
            self.buf += c
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, **args):
        self.s.sendall((json.dumps({'execute': name, 'arguments': args} if args else {'execute': name}) + '\n').encode())
        while True:
            m = self.recv()
            if 'return' in m or 'error' in m:
                return m
            self.events.append(m)


def qemu_base(d, kernel, initrd, cmdline, console):
    # lazy_ram: guest RAM mapped with MAP_NORESERVE (reserve=off), so that a guest larger than the
    # host's memory starts under the default overcommit heuristic; only touched pages take host RAM.
    mem = (['-machine', 'q35,memory-backend=ram0', '-object', f'memory-backend-ram,id=ram0,size={d["mem"]}M,reserve=off']
           if d.get('lazy_ram') else ['-machine', 'q35'])
    return ['qemu-system-x86_64'] + mem + ['-accel', 'tcg', '-cpu', d['cpu'], '-m', str(d['mem']),
            '-smp', str(d['smp']), '-kernel', kernel, '-initrd', initrd, '-append', cmdline,
            '-display', 'none', '-monitor', 'none', '-vga', 'none', '-nic', 'none',
            '-serial', 'file:' + console, '-no-reboot']


def run_pvpanic(d, out, kernel, initrd, run):
    sock = os.path.join(out, 'qmp.sock')
    console = os.path.join(out, 'console.log')
    for p in (sock, console):
        if os.path.exists(p):
            os.unlink(p)
    cmdline = f'console=ttyS0 oops=panic crashmode={d["mode"]} {d["append"]}'.strip()
    q = qemu_base(d, kernel, initrd, cmdline, console) + [
        '-device', 'vmcoreinfo', '-device', 'pvpanic', '-action', 'panic=pause',
        '-qmp', f'unix:{sock},server=on,wait=off']
    run['qemu'] = q
    run['cmdline'] = cmdline
    t0 = time.time()
    p = subprocess.Popen(q, stdout=open(os.path.join(out, 'qemu.out'), 'w'), stderr=subprocess.STDOUT)
    try:
        qmp = None
        for _ in range(400):                  # the socket file appears before QEMU listens on it
            if p.poll() is not None:
                raise SystemExit('QEMU exited: ' + open(os.path.join(out, 'qemu.out')).read()[-500:])
            try:
                qmp = QMP(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
        if qmp is None:
            raise SystemExit('cannot connect to QMP at ' + sock)
        caps = qmp.cmd('query-dump-guest-memory-capability').get('return', {}).get('formats', [])
        run['qemu_dump_formats'] = caps
        end = t0 + d['timeout']
        seen = None
        panicked = False
        hmp = list(d.get('hmp') or [])        # monitor commands sent once the crash mode is up
        ready = None
        while time.time() < end:
            try:
                m = qmp.recv(0.5)
            except TimeoutError:
                # pvpanic is a module: a panic before it loads shows only on the console
                txt = open(console, 'rb').read() if os.path.exists(console) else b''
                if hmp and ready is None and b'triggering crash mode=' in txt:
                    ready = time.time()
                if hmp and ready and time.time() - ready > 2:
                    for c in hmp:
                        r = qmp.cmd('human-monitor-command', **{'command-line': c})
                        run.setdefault('hmp', []).append({'command': c, 'reply': r})
                        log(f'monitor: {c} -> {r}')
                    hmp = []
                if seen is None and b'end Kernel panic' in txt:
                    seen = time.time()
                if seen and time.time() - seen > 3:
                    run['console_only_panic'] = True
                    qmp.cmd('stop')
                    break
                continue
            qmp.events.append(m)
            if m.get('event') == 'GUEST_PANICKED':
                panicked = True
                break
            if m.get('event') == 'SHUTDOWN':
                raise SystemExit('guest shut down without panic (see console.log)')
        else:
            raise SystemExit(f'no panic within {d["timeout"]} s (see {console})')
        run['boot_to_panic_s'] = round(time.time() - t0, 1)
        run['guest_panicked_event'] = panicked
        log(f'panic after {run["boot_to_panic_s"]} s')
        run['qemu_dumps'] = {}
        for fmt in d.get('qemu_formats', ['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy']):
            if fmt not in caps:
                continue
            path = os.path.join(out, 'vmcore.elf' if fmt == 'elf' else f'vmcore.qemu-{fmt}')
            t1 = time.time()
            r = qmp.cmd('dump-guest-memory', paging=False, protocol='file:' + path, format=fmt)
            if 'error' in r:
                raise SystemExit(f'dump-guest-memory {fmt}: {r}')
            run['qemu_dumps'][os.path.basename(path)] = {'seconds': round(time.time() - t1, 1),
                                                         'bytes': os.path.getsize(path)}
            log(f'{fmt}: {os.path.getsize(path)} bytes in {time.time() - t1:.1f} s')
        run['qmp_events'] = [e.get('event') for e in qmp.events]
        qmp.cmd('quit')
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if os.path.exists(sock):
            os.unlink(sock)


# ------------------------------------------------------------------ real kdump (kexec capture kernel)
KEXEC_PKGS = ['kexec-tools', 'libxenmisc4.17', 'libxencall1', 'libxendevicemodel1', 'libxenevtchn1',
              'libxenforeignmemory1', 'libxengnttab1', 'libxenhypfs1', 'libxenstore4', 'libxentoolcore1',
              'libxentoollog1']

CAPTURE_INIT = '''#!/bin/busybox sh
# kdump capture kernel: save /proc/vmcore raw to /dev/vda, makedumpfile -l -d 31 + dmesg (tar) to /dev/vdb
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "CRASHLENS-KDUMP: capture kernel up: $(cat /proc/cmdline)"
for m in $CAPMODS; do insmod /mods/$m.ko || echo "CRASHLENS-KDUMP: insmod $m failed"; done
for i in $(seq 1 100); do [ -b /dev/vdb ] && break; sleep 0.2; done
cd /tmp
stat -c %s /proc/vmcore > vmcore.size
cat /proc/cmdline > capture-cmdline.txt
makedumpfile --dump-dmesg /proc/vmcore guest-dmesg.txt > md-dmesg.log 2>&1; echo "CRASHLENS-KDUMP: dump-dmesg rc=$?"
makedumpfile -l -d 31 /proc/vmcore vmcore.guest-d31-lzo.kdump > md-d31.log 2>&1; echo "CRASHLENS-KDUMP: makedumpfile rc=$?"
dd if=/proc/vmcore of=/dev/vda bs=1M 2> dd.log; echo "CRASHLENS-KDUMP: dd rc=$?"
tar cf /dev/vdb vmcore.size capture-cmdline.txt guest-dmesg.txt md-dmesg.log md-d31.log dd.log vmcore.guest-d31-lzo.kdump
sync
echo "CRASHLENS-KDUMP: capture done"
echo o > /proc/sysrq-trigger
sleep 5
'''
KEXEC_LOAD = '''kexec -p /boot/vmlinuz --initrd=/boot/capture.cpio.gz --append="$CAPTURE_APPEND"
echo "CRASHLENS-LAB: kexec -p rc=$? kexec_crash_loaded=$(cat /sys/kernel/kexec_crash_loaded)"
[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || { echo "CRASHLENS-LAB: capture kernel NOT loaded"; exec sh; }
rm -f /boot/vmlinuz /boot/capture.cpio.gz
'''
CAPTURE_APPEND = 'console=ttyS0 irqpoll nr_cpus=1 maxcpus=1 reset_devices nousb panic=10'


def kexec_root():
    root = os.path.join(CACHE, '_kexec')
    if not os.path.exists(os.path.join(root, '.done')):
        debs = kernels.download(KEXEC_PKGS, [], os.path.join(CACHE, '_debs'))
        for deb in debs:
            sh(['dpkg-deb', '-x', deb, root], check=True)
        open(os.path.join(root, '.done'), 'w').write('ok\n')
    return root


def mk_kdump_initramfs(out, kroot, krel, ko, nginx):
    modroot = os.path.join(kroot, 'lib/modules', krel)
    kx = kexec_root()
    c = out + '.capture.d'
    shutil.rmtree(c, ignore_errors=True)
    mkroot(c)
    copy_bin(c, shutil.which('makedumpfile') or '/usr/bin/makedumpfile', '/sbin/makedumpfile')
    capmods = []
    for m in ('virtio', 'virtio_ring', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'virtio_blk'):
        if add_ko(modroot, m, os.path.join(c, 'mods')):
            capmods.append(m)
    # virtio_ring must come before virtio (virtio uses its symbols)
    if 'virtio_ring' in capmods and 'virtio' in capmods:
        capmods.remove('virtio_ring')
        capmods.insert(0, 'virtio_ring')
    with open(os.path.join(c, 'init'), 'w') as f:
        f.write(CAPTURE_INIT.replace('$CAPMODS', ' '.join(capmods)))
    os.chmod(os.path.join(c, 'init'), 0o755)
    cap = out + '.capture.cpio.gz'
    cpio(c, cap)
    libp = os.path.join(kx, 'usr/lib/x86_64-linux-gnu')
    w = out + '.kx.d'
    shutil.rmtree(w, ignore_errors=True)
    mkroot(w)
    copy_bin(w, os.path.join(kx, 'sbin/kexec'), '/sbin/kexec', libpath=libp)
    tar = out + '.kx.tar'
    subprocess.run(['tar', 'cf', tar, '-C', w, 'sbin', 'lib', 'lib64'], check=True)
    shutil.rmtree(w)
    extra = [(os.path.join(kroot, 'boot', f'vmlinuz-{krel}'), '/boot/vmlinuz'), (cap, '/boot/capture.cpio.gz'),
             (tar, '/boot/kexec.tar')]
    init = (f'CAPTURE_APPEND="{CAPTURE_APPEND}"\n'
            'tar xf /boot/kexec.tar -C / && rm -f /boot/kexec.tar\n'
            'echo "CRASHLENS-LAB: crashkernel $(cat /sys/kernel/kexec_crash_size) bytes"\n' + KEXEC_LOAD)
    mods = mkinitramfs(out, modroot, ko, nginx, extra_init=init, extra_files=extra)
    os.unlink(tar)
    os.unlink(cap)
    return mods


def run_kdump(d, out, kernel, initrd, run):
    console = os.path.join(out, 'console.log')
    vda, vdb = os.path.join(out, 'vda.img'), os.path.join(out, 'vdb.img')
    for path, mib in ((vda, d['mem'] + 128), (vdb, 256)):
        with open(path, 'wb') as f:
            f.truncate(mib << 20)
    if os.path.exists(console):
        os.unlink(console)
    cmdline = f'console=ttyS0 oops=panic crashmode={d["mode"]} {d["append"]}'.strip()
    q = qemu_base(d, kernel, initrd, cmdline, console) + [
        '-drive', f'file={vda},format=raw,if=virtio', '-drive', f'file={vdb},format=raw,if=virtio']
    run['qemu'] = q
    run['cmdline'] = cmdline
    t0 = time.time()
    p = subprocess.Popen(q, stdout=open(os.path.join(out, 'qemu.out'), 'w'), stderr=subprocess.STDOUT)
    marks = {}
    try:
        while p.poll() is None:
            if time.time() - t0 > d['timeout']:
                raise SystemExit(f'kdump run did not finish in {d["timeout"]} s (see {console})')
            time.sleep(0.5)
            txt = open(console, 'rb').read().decode('utf-8', 'replace') if os.path.exists(console) else ''
            for key in ('kexec_crash_loaded=1', 'triggering crash', 'capture kernel up', 'makedumpfile rc',
                        'dd rc', 'capture done', 'NOT loaded'):
                if key in txt and key not in marks:
                    marks[key] = round(time.time() - t0, 1)
                    log(f'{marks[key]:7.1f}s  {key}')
            if 'NOT loaded' in marks:
                raise SystemExit('kexec -p failed in the guest (see console.log)')
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    run['marks_s'] = marks
    run['guest_wall_s'] = round(time.time() - t0, 1)
    with tarfile.open(vdb) as t:
        t.extractall(out)
    size = int(open(os.path.join(out, 'vmcore.size')).read())
    with open(vda, 'rb') as s, open(os.path.join(out, 'vmcore.elf'), 'wb') as o:
        left = size
        while left:
            b = s.read(min(left, 1 << 24))
            if not b:
                break
            o.write(b)
            left -= len(b)
    os.unlink(vda)
    os.unlink(vdb)
    for f in ('vmcore.size', 'md-dmesg.log', 'dd.log'):
        os.unlink(os.path.join(out, f))
    run['qemu_dumps'] = {'vmcore.elf': {'bytes': size, 'note': '/proc/vmcore of the capture kernel'}}


# ------------------------------------------------------------------ post-processing
PRSTATUS_REGS = ('r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss '
                 'fs_base gs_base ds es fs gs').split()


def elf_notes(elf):
    """[(name, type, desc)] of every PT_NOTE segment of an ELF64 core."""
    notes = []
    with open(elf, 'rb') as f:
        eh = f.read(64)
        phoff, = struct.unpack_from('<Q', eh, 0x20)
        phnum, = struct.unpack_from('<H', eh, 0x38)
        f.seek(phoff)
        phs = [struct.unpack('<IIQQQQQQ', f.read(56)) for _ in range(phnum)]
        for typ, _, off, _, _, fsz, _, _ in phs:
            if typ != 4:
                continue
            f.seek(off)
            data = f.read(fsz)
            i = 0
            while i + 12 <= len(data):
                nsz, dsz, nt = struct.unpack_from('<III', data, i)
                i += 12
                name = data[i:i + nsz].rstrip(b'\0').decode('latin-1')
                i += (nsz + 3) & ~3
                notes.append((name, nt, data[i:i + dsz]))
                i += (dsz + 3) & ~3
    return notes


def prstatus(elf):
    """pid, rip, rsp of each NT_PRSTATUS note (one per CPU, in CPU order)."""
    out = []
    for name, nt, desc in elf_notes(elf):
        if name == 'CORE' and nt == 1 and len(desc) >= 112 + 27 * 8:
            pid, = struct.unpack_from('<i', desc, 32)
            regs = dict(zip(PRSTATUS_REGS, struct.unpack_from('<27Q', desc, 112)))
            out.append({'pid': pid, 'rip': hex(regs['rip']), 'rsp': hex(regs['rsp'])})
    return out


def vmcoreinfo_text(elf):
    for name, _, desc in elf_notes(elf):
        if name == 'VMCOREINFO':
            return desc.rstrip(b'\0').decode()
    return ''


def bt_frames(f):
    """`bt_frames` (the key ../shared/checks' bt check wants): the console's call chain as an
    unwinder of the dump finds it, adjacent: without the frames that printed it (dump_stack*,
    show_stack*, gone from the stack since; likewise the report printers that returned, or
    tail-called add_taint(), before the panic: the OOM killer's dump_header, SLUB's object_err /
    slab_err, the page allocator's bad_page) and without the module tags."""
    if f.get('bt_frames') is not None:    # a crash class's rule in facts.py said which frames
        return f['bt_frames']
    chain = [c.split(' ')[0] for c in f.get('call_chain') or []
             if not c.startswith(('dump_stack', 'show_stack'))]
    printers = ('dump_header', 'object_err', 'slab_err', 'bad_page')
    while chain and chain[0].startswith(printers):
        chain.pop(0)
    return chain


def sparse_elf(out, run):
    """A sparse ELF of QEMU's kdump-zlib (reassembled from its flattened form first), for a guest whose
    ELF dump would be as large as its memory: only the pages the dump stores are written."""
    flat = os.path.join(out, 'vmcore.qemu-kdump-zlib')
    re_ = os.path.join(out, 'vmcore.reassembled.tmp')
    elf = os.path.join(out, 'vmcore.sparse-elf.tmp')
    t = time.time()
    with open(flat, 'rb') as i:
        sh(['makedumpfile', '-R', re_], stdin=i, check=True, stdout=sys.stderr)
    written, holes = kdump2elf.convert(re_, elf)
    os.unlink(re_)
    run['sparse_elf'] = {'pages_written': written, 'zero_pages_as_holes': holes, 'seconds': round(time.time() - t, 1),
                         'apparent_bytes': os.path.getsize(elf), 'disk_bytes': os.stat(elf).st_blocks * 512}
    log(f'sparse ELF: {written} pages written, {holes} zero pages as holes in {time.time() - t:.1f} s')
    return elf


def postprocess(d, out, run, ko):
    elf = os.path.join(out, 'vmcore.elf')
    if 'elf' not in d.get('qemu_formats', ['elf']):
        elf = sparse_elf(out, run)
    try:
        return postprocess_elf(d, out, run, ko, elf)
    finally:
        if elf.endswith('.tmp') and os.path.exists(elf):
            os.unlink(elf)


def postprocess_elf(d, out, run, ko, elf):
    with open(os.path.join(out, 'readelf-notes.txt'), 'w') as f:
        sh(['readelf', '-n', elf], stdout=f)
    vi = vmcoreinfo_text(elf)
    open(os.path.join(out, 'vmcoreinfo.txt'), 'w').write(vi)
    phoff, = struct.unpack_from('<Q', open(elf, 'rb').read(64), 0x20)
    src = elf
    if phoff != 64:
        src = os.path.join(out, 'vmcore.phdr64.tmp')
        sh([sys.executable, os.path.join(HERE, 'elf_phdr64.py'), elf, src], check=True, stdout=sys.stderr)
    run['makedumpfile'] = {}
    try:
        t = time.time()
        dm = os.path.join(out, 'vmcore.dmesg.txt')
        if os.path.exists(dm):
            os.unlink(dm)
        r = sh(['makedumpfile', '--dump-dmesg', src, dm], capture_output=True, text=True)
        run['makedumpfile']['vmcore.dmesg.txt'] = {'rc': r.returncode, 'seconds': round(time.time() - t, 1)}
        for name, args in MDF:
            if name not in d.get('mdf', [n for n, _ in MDF]):
                continue
            t = time.time()
            dst = os.path.join(out, name)
            for old in glob.glob(dst + '*'):
                os.unlink(old)
            if '-F' in args:
                with open(dst, 'wb') as o:
                    r = sh(['makedumpfile'] + args + [src], stdout=o, stderr=subprocess.PIPE, text=True)
                msg = r.stderr
                outs = [dst]
            elif '--split' in args:
                outs = [f'{dst}.1', f'{dst}.2']
                r = sh(['makedumpfile'] + args + [src] + outs, capture_output=True, text=True)
                msg = r.stdout + r.stderr
            else:
                outs = [dst]
                r = sh(['makedumpfile'] + args + [src, dst], capture_output=True, text=True)
                msg = r.stdout + r.stderr
            ent = {'args': args, 'rc': r.returncode, 'seconds': round(time.time() - t, 1),
                   'bytes': sum(os.path.getsize(o) for o in outs if os.path.exists(o))}
            if r.returncode:
                ent['error'] = msg[-800:]
                for o in outs:
                    if os.path.exists(o):
                        os.unlink(o)
                log(f'makedumpfile {name} FAILED: {msg[-300:]}')
            run['makedumpfile'][name] = ent
    finally:
        if src != elf and os.path.exists(src):
            os.unlink(src)
    shutil.copy(ko, os.path.join(out, 'crashlens_lab.ko'))
    return derive_facts(d, out, run)


def derive_facts(d, out, run):
    """facts.json of a scenario from what its directory holds: console.log (else the dump's log
    as makedumpfile reads it), vmcoreinfo.txt, the dump's notes, crashlens_lab.ko."""
    elf = os.path.join(out, 'vmcore.elf')
    vi = open(os.path.join(out, 'vmcoreinfo.txt')).read()
    kout = os.path.join(out, 'crashlens_lab.ko')
    try:
        f = factsmod.parse(factsmod.lines_of(os.path.join(out, 'console.log')), d['name'], kout)
    except SystemExit:
        # A report printed from NMI-like context (a machine check) is deferred to the console
        # and QEMU pauses on pvpanic before it is flushed: then the facts come from the log as
        # makedumpfile reads it from the dump (an independent reader), and say so.
        f = factsmod.parse(factsmod.lines_of(os.path.join(out, 'vmcore.dmesg.txt')), d['name'], kout)
        f['facts_source'] = 'vmcore.dmesg.txt (makedumpfile --dump-dmesg): the console lacks the report'
    m = re.search(r'^OSRELEASE=(\S+)', vi, re.M)
    f['vmcoreinfo_osrelease'] = m.group(1) if m else None
    if m and f['kernel_release'] != m.group(1):
        raise SystemExit(f'console release {f["kernel_release"]} != VMCOREINFO {m.group(1)}')
    m = re.search(r'^NUMBER\(pgtable_l5_enabled\)=(\d+)', vi, re.M)
    f['pgtable_l5_enabled'] = int(m.group(1)) if m else None
    f['vmcoreinfo_has_kallsyms'] = bool(re.search(r'^(SYMBOL|OFFSET|SIZE|NUMBER|LENGTH)\(kallsyms', vi, re.M))
    f['prstatus'] = prstatus(elf)
    f['dump_method'] = 'kdump (kexec capture kernel, /proc/vmcore)' if d['kind'] == 'kdump' else \
        'QEMU pvpanic pause + QMP dump-guest-memory'
    f['guest'] = f'QEMU TCG q35 -cpu {d["cpu"]} -m {d["mem"]} -smp {d["smp"]}; cmdline "{run["cmdline"]}"'
    # the dump must contain the panic: check makedumpfile's view of the log
    dm = os.path.join(out, 'vmcore.dmesg.txt')
    dtxt = open(dm, errors='replace').read() if os.path.exists(dm) else ''
    f['dmesg_has_first_line'] = f['panic_message_first_line'] in dtxt
    # QEMU pauses the guest inside panic(): the last lines may not have reached the serial port yet
    # (e.g. "Kernel panic - not syncing" after a stack-guard oops). Fill what the console lacks from
    # the same kernel's log as read from the dump, and say so.
    if dtxt:
        g = factsmod.parse(factsmod.lines_of(dm), d['name'], kout)
        filled = [k for k, v in g.items() if f.get(k) in (None, []) and v not in (None, [])]
        for k in filled:
            f[k] = g[k]
        f['filled_from_dump_dmesg'] = filled
    f['bt_frames'] = bt_frames(f)
    json.dump(f, open(os.path.join(out, 'facts.json'), 'w'), indent=1)
    # sanity checks of the scenario's purpose (not facts: these only reject a run that missed it)
    if not f['dmesg_has_first_line']:
        raise SystemExit('makedumpfile --dump-dmesg of the dump does not contain the crash report')
    for k, want in d.get('expect', {}).items():
        got = os.path.getsize(elf) if k == 'min_elf_bytes' else f.get(k)
        if (got < want) if k == 'min_elf_bytes' else (got != want):
            raise SystemExit(f'expectation failed: {k} = {got!r}, wanted {want!r}')
    return f


def reparse(out, name):
    """facts.json of a built scenario derived again from its console.log (and the dump's own log
    for what the console lacks), after facts.py changed; the keys that come from the dump and the
    run (prstatus, VMCOREINFO, guest) are kept. No guest run."""
    fp = os.path.join(out, 'facts.json')
    old = json.load(open(fp))
    ko = os.path.join(out, 'crashlens_lab.ko')
    dm = os.path.join(out, 'vmcore.dmesg.txt')
    try:
        f = factsmod.parse(factsmod.lines_of(os.path.join(out, 'console.log')), name, ko)
    except SystemExit:      # the console lacks the report (see derive_facts)
        f = factsmod.parse(factsmod.lines_of(dm), name, ko)
        f['facts_source'] = 'vmcore.dmesg.txt (makedumpfile --dump-dmesg): the console lacks the report'
    if os.path.exists(dm):
        g = factsmod.parse(factsmod.lines_of(dm), name, ko)
        filled = [k for k, v in g.items() if f.get(k) in (None, []) and v not in (None, [])]
        for k in filled:
            f[k] = g[k]
        f['filled_from_dump_dmesg'] = filled
    for k in ('vmcoreinfo_osrelease', 'pgtable_l5_enabled', 'vmcoreinfo_has_kallsyms', 'prstatus',
              'dump_method', 'guest', 'dmesg_has_first_line'):
        if k in old:
            f[k] = old[k]
    f['bt_frames'] = bt_frames(f)
    json.dump(f, open(fp, 'w'), indent=1)
    return f


# ------------------------------------------------------------------ driver
def run_scenario(name, force=False):
    d = scn_def(name)
    d['name'] = name
    out = os.path.join(CACHE, name)
    key = sha((json.dumps(d, sort_keys=True) + scripts_hash()).encode())
    if not force and is_cached(out, key, d):
        return json.load(open(os.path.join(out, 'run.json')))
    final, out = out, os.path.join(CACHE, f'.{name}.building')   # built aside, swapped in at the end
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    run = {'scenario': name, 'definition': d, 'timings_s': {}}
    T = run['timings_s']
    t0 = time.time()
    kroot, hdr = kernels.ensure(d['kernel'])
    T['kernel_fetch'] = round(time.time() - t0, 1)
    t = time.time()
    ko = build_module(d['kernel'], hdr)
    nginx = build_nginx()
    T['build'] = round(time.time() - t, 1)
    t = time.time()
    initrd = os.path.join(out, 'initramfs.cpio.gz')
    modroot = os.path.join(kroot, 'lib/modules', d['kernel'])
    if d['kind'] == 'kdump':
        run['guest_modules'] = mk_kdump_initramfs(initrd, kroot, d['kernel'], ko, nginx)
    else:
        run['guest_modules'] = mkinitramfs(initrd, modroot, ko, nginx)
    T['initramfs'] = round(time.time() - t, 1)
    t = time.time()
    kernel = os.path.join(kroot, 'boot', f'vmlinuz-{d["kernel"]}')
    if d['kind'] == 'kdump':
        run_kdump(d, out, kernel, initrd, run)
    else:
        run_pvpanic(d, out, kernel, initrd, run)
    T['guest_and_dump'] = round(time.time() - t, 1)
    t = time.time()
    f = postprocess(d, out, run, ko)
    T['makedumpfile_and_facts'] = round(time.time() - t, 1)
    T['total'] = round(time.time() - t0, 1)
    run['files'] = {x: os.path.getsize(os.path.join(out, x)) for x in sorted(os.listdir(out))
                    if os.path.isfile(os.path.join(out, x))}
    open(os.path.join(out, 'run.json'), 'w').write(json.dumps(run, indent=1).replace(out, final))
    for x in os.listdir(out):
        os.chmod(os.path.join(out, x), 0o644)
    open(os.path.join(out, '.key'), 'w').write(key + '\n')
    # swap in atomically-ish: a reader holding the old files open keeps reading them
    old = os.path.join(CACHE, f'.{name}.old')
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(out, final)
    shutil.rmtree(old, ignore_errors=True)
    out = final
    log(f'{name}: done in {T["total"]} s -> {out}')
    log(f'{name}: {f["panic_message_first_line"]} | RIP {f["rip_function"]} [{f["rip_module"]}] | '
        f'{f.get("crashing_comm")} pid {f.get("crashing_pid")} | culprit {f["culprit_function"]} [{f["culprit_module"]}]')
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('scenarios', nargs='*')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--force', action='store_true', help='rebuild even if cached')
    ap.add_argument('--fast', action='store_true', help='the fast tier: ' + ' '.join(FAST))
    ap.add_argument('--all', action='store_true', help='every scenario')
    ap.add_argument('--refacts', action='store_true',
                    help='derive facts.json of built scenarios again from their console (facts.py changed); no guest run')
    a = ap.parse_args()
    if a.list:
        for n in SCENARIOS:
            d = scn_def(n)
            print(f'{n:15s} {d["kernel"]:22s} {d["kind"]:8s} {d["mem"]:5d}M  {d["doc"]}')
        return
    names = a.scenarios or (FAST if a.fast else list(SCENARIOS) if a.all else DEFAULT)
    bad = [n for n in names if n not in SCENARIOS]
    if bad:
        raise SystemExit(f'unknown scenario(s): {bad}; known: {", ".join(SCENARIOS)}')
    if a.refacts:
        for n in names:
            if os.path.exists(os.path.join(CACHE, n, 'facts.json')):
                reparse(os.path.join(CACHE, n), n)
                log(f'{n}: facts.json derived again')
        return
    failed = []
    for n in names:
        for attempt in (1, 2):
            try:
                run_scenario(n, a.force)
                break
            except (SystemExit, Exception) as e:  # one failed scenario does not stop the others
                # A guest that died before the crash was triggered is a boot flake of TCG on an
                # overloaded host (seen: "IO-APIC + timer doesn't work!" at 0.03 s): retry once.
                con = os.path.join(CACHE, f'.{n}.building', 'console.log')
                txt = open(con, 'rb').read() if os.path.exists(con) else b''
                if attempt == 1 and b'Kernel panic' in txt and b'triggering crash' not in txt:
                    log(f'{n}: the guest died while booting, before the crash trigger; retrying once')
                    continue
                log(f'{n}: FAILED: {e}')
                failed.append(n)
                break
    if failed:
        log('failed:', ' '.join(failed))
        sys.exit(1)


if __name__ == '__main__':
    main()
