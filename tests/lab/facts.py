#!/usr/bin/env python3
"""Derive the expected facts of a crash from the guest's serial console log.

    facts.py CONSOLE_LOG [--scenario NAME] [--vmcoreinfo FILE] [-o facts.json]

Everything comes from what the kernel printed (nothing is typed in per scenario):
  kernel_release            "Linux version X" banner (cross-checked with VMCOREINFO OSRELEASE if given)
  panic_message_first_line  the first line of the first crash report (BUG:/Oops/GPF/divide error/WARNING/
                            sysrq/soft lockup/stack guard/Kernel panic ...)
  oops_line                 the "...: 0000 [#1] ..." line;  panic_line: "Kernel panic - not syncing: ..."
  rip_function/rip_module   the report's "RIP: 0010:func+off/size [module]"
  crashing_comm/pid/cpu     the report's "CPU: N PID: P Comm: C" line
  faulting_register         the register the faulting instruction used as its memory base (or the divisor of a
                            div), decoded with objdump from the "Code:" bytes (the <xx> marked one), with its
                            value from the register dump (faulting_register_value)
  oops_registers            the register dump after that RIP line (rax..r15, rsp, eflags), hex strings
  fault_address_cr2         the address from the page-fault line / CR2 (page faults only);
                            fault_address for "non-canonical address 0x..." GPFs
  call_chain                RIP function then the non-'?' Call Trace frames of the task stack (IRQ stack
                            sections skipped), up to do_syscall_64; module frames as "func [module]"
  culprit_function/module   the first frame of that chain that belongs to a module tainted out-of-tree or
                            unsigned (O/E in "Modules linked in:"), else the RIP function: the rule an
                            engineer applies ("probably caused by" the third-party driver on the stack)
"""
import json, os, re, subprocess, sys, tempfile

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
START = re.compile(r'^(BUG: |kernel BUG at |general protection fault|divide error|invalid opcode|'
                   r'WARNING: |sysrq: Trigger a crash|SysRq : Trigger a crash|Oops: |(?:NMI )?watchdog: BUG: soft lockup|'
                   r'Kernel panic - not syncing|double fault|stack segment|Unable to handle|'
                   r'INFO: task .* blocked|rcu: INFO:|INFO: rcu_\w+ (?:self-)?detected stall|Out of memory|'
                   r'mce: \[Hardware Error\]|'
                   r'\S+ invoked oom-killer: |BUG \S+ \(.*\): |'
                   # 7.x SLUB prints the damaged region before its BUG line ("Object corrupt")
                   r'\[[A-Za-z ]+ overwritten\] 0x)')
INFRA = {'dump_stack_lvl', 'dump_stack', 'panic', 'vpanic', '__warn', 'warn_slowpath_fmt', 'report_bug',
         'show_stack', 'oops_end', 'die', 'do_trap', 'do_error_trap'}
REG_ALIASES = {}
for r64, r32, r16, r8 in (('rax', 'eax', 'ax', 'al'), ('rbx', 'ebx', 'bx', 'bl'), ('rcx', 'ecx', 'cx', 'cl'),
                          ('rdx', 'edx', 'dx', 'dl'), ('rsi', 'esi', 'si', 'sil'), ('rdi', 'edi', 'di', 'dil'),
                          ('rbp', 'ebp', 'bp', 'bpl'), ('rsp', 'esp', 'sp', 'spl')):
    for x in (r64, r32, r16, r8):
        REG_ALIASES[x] = r64
for n in range(8, 16):
    for x in (f'r{n}', f'r{n}d', f'r{n}w', f'r{n}b'):
        REG_ALIASES[x] = f'r{n}'


def lines_of(path):
    raw = open(path, 'rb').read().decode('utf-8', 'replace').replace('\r', '')
    # user-space output on the same serial line is not newline-synchronised with printk: a kernel
    # record can start in the middle of a line ("nginx: reading ...[    3.45] BUG: ..."); split there
    raw = re.sub(r'(?<=[^\n])(\[\s*\d+\.\d{6}\] )', r'\n\1', raw)
    return [TS.sub('', l).rstrip() for l in raw.split('\n')]


def decode_code(code_line):
    """'Code: aa bb <cc> dd' -> (AT&T text of the marked instruction, mnemonic) using objdump."""
    toks = code_line.split()[1:]
    if not toks or not any(t.startswith('<') for t in toks):
        return None
    idx = next(i for i, t in enumerate(toks) if t.startswith('<'))
    try:
        data = bytes(int(t.strip('<>()'), 16) for t in toks)
    except ValueError:
        return None
    with tempfile.NamedTemporaryFile(suffix='.bin') as f:
        f.write(data[idx:])
        f.flush()
        r = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', f.name],
                           capture_output=True, text=True)
    for l in r.stdout.splitlines():
        m = re.match(r'^\s+0:\s+(?:[0-9a-f]{2} )+\s*(.*)$', l)
        if m:
            return m.group(1).strip()
    return None


def operand_register(insn):
    """The register whose bad value the instruction used: memory base (else index), or div's operand."""
    if not insn:
        return None
    ins = re.sub(r'\s+#.*$', '', insn)
    m = re.search(r'(?:-?0x[0-9a-f]+)?\((%[a-z0-9]+)?(?:,(%[a-z0-9]+),\d)?\)', ins)
    if m and not ins.split()[0].startswith(('lea', 'nop')):
        reg = m.group(1) or m.group(2)
        if reg and reg[1:] not in ('rip',):
            return REG_ALIASES.get(reg[1:], reg[1:])
    m = re.match(r'^(?:rex\S*\s+)?(i?div[bwlq]?)\s+%([a-z0-9]+)$', ins)
    if m:
        return REG_ALIASES.get(m.group(2), m.group(2))
    return None


def parse(lines, scenario=None, ko=None):
    f = {'scenario': scenario}
    rel = next((re.search(r'^Linux version (\S+)', l) for l in lines if l.startswith('Linux version ')), None)
    f['kernel_release'] = rel.group(1) if rel else None
    start = next((i for i, l in enumerate(lines) if START.match(l)), None)
    if start is None:
        raise SystemExit('no crash report found in the console log')
    rep = lines[start:]
    f['panic_message_first_line'] = rep[0]
    f['oops_line'] = next((l for l in rep if re.search(r': [0-9a-f]{4} \[#\d+\]', l)), None)
    f['panic_line'] = next((l for l in rep if l.startswith('Kernel panic - not syncing')), None)
    cpu = next((re.match(r'^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)', l) for l in rep
                if re.match(r'^CPU: \d+ (?:UID: \d+ )?PID: ', l)), None)
    if cpu:
        f['crashing_cpu'], f['crashing_pid'], f['crashing_comm'] = int(cpu.group(1)), int(cpu.group(2)), cpu.group(3)
    ri = next((i for i, l in enumerate(rep) if re.match(r'^RIP: 0010:', l)), None)
    # (3.10 prints the address twice first: "RIP: 0010:[<ffffffffa0000479>]  [<ffffffffa0000479>] f+0x19/0x1b")
    rip = re.match(r'^RIP: 0010:(?:\[<[0-9a-f]+>\]\s+\[<[0-9a-f]+>\] )?([A-Za-z0-9_.]+)\+(0x[0-9a-f]+)/(0x[0-9a-f]+)(?: \[(\w+)\])?', rep[ri]) if ri is not None else None
    f['rip_function'] = rip.group(1) if rip else None
    f['rip_offset'] = rip.group(2) if rip else None
    f['rip_module'] = rip.group(4) if rip else None
    regs = {}
    if ri is not None:
        for l in rep[ri:ri + 12]:
            for name, val in re.findall(r'\b(R[A-Z0-9]{1,2}|CR2): ([0-9a-f]{8,16})\b', l):
                regs.setdefault(re.sub(r'^r0(\d)$', r'r\1', name.lower()), int(val, 16))  # R08 -> r8
            m = re.search(r'\bRSP: [0-9a-f]{4}:([0-9a-f]{16})\b', l)
            if m:
                regs.setdefault('rsp', int(m.group(1), 16))
            m = re.search(r'\bEFLAGS: ([0-9a-f]{8})\b', l)
            if m:
                regs.setdefault('eflags', int(m.group(1), 16))
    # the faulting context's register dump as printed (general registers, RSP, EFLAGS; CR2 is not one)
    f['oops_registers'] = {k: hex(v) for k, v in regs.items() if k != 'cr2'} or None
    code = next((l for l in rep[ri or 0:] if l.startswith('Code: ')), None) if ri is not None else None
    insn = decode_code(code) if code else None
    f['faulting_instruction'] = insn
    reg = operand_register(insn)
    f['faulting_register'] = reg.upper() if reg else None
    f['faulting_register_value'] = hex(regs[reg]) if reg and reg in regs else None
    m = re.search(r'(?:address: |address at |at virtual address )([0-9a-fx]+)', rep[0])
    if re.search(r'unable to handle|NULL pointer dereference|page fault', rep[0], re.I) and m:
        f['fault_address_cr2'] = hex(int(m.group(1), 16))
    m = re.search(r'non-canonical address (0x[0-9a-f]+)', rep[0])
    if m:
        f['fault_address'] = m.group(1)
    # modules with their taint letters
    ml = next((l for l in rep if l.startswith('Modules linked in:')), '')
    mods = dict(re.findall(r'(\w+)(?:\(([A-Z]+)\))?', ml[len('Modules linked in:'):]))
    f['modules_linked_in'] = ml[len('Modules linked in:'):].strip() or None
    tainted = {m for m, t in mods.items() if t and ('O' in t or 'E' in t)}
    taint_flags = next((re.search(r' Tainted: ([A-Z ]+) \d|$', l).group(1) or '' for l in rep
                        if l.startswith('CPU: ') and ' Tainted: ' in l), '')
    any_module_frame_tainted = not ml and ('O' in taint_flags or 'E' in taint_flags)
    # call chain
    chain = []
    if rip:
        chain.append(rip.group(1) + (f' [{rip.group(4)}]' if rip.group(4) else ''))
    ct = next((i for i, l in enumerate(rep) if l.strip() == 'Call Trace:'), None)
    if ct is not None:
        in_irq = False
        for l in rep[ct + 1:]:
            s = l.strip()
            if s in ('<IRQ>', '<NMI>') or s.startswith('<#DF>') or s.startswith('<EOE>'):
                in_irq = s in ('<IRQ>', '<NMI>')
                continue
            if s in ('</IRQ>', '</NMI>'):
                in_irq = False
                continue
            if s in ('<TASK>',):
                continue
            if s == '</TASK>' or s.startswith(('RIP:', 'Modules linked in', '---[', 'Kernel panic', 'Kernel Offset')):
                break
            m = re.match(r'^(\? )?([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])?$', s)
            if not m:
                if chain and not s:
                    break
                continue
            if m.group(1) or in_irq:
                continue
            chain.append(m.group(2) + (f' [{m.group(3)}]' if m.group(3) else ''))
            if m.group(2) == 'do_syscall_64':
                break
    f['call_chain'] = chain
    cul, rule = None, None
    for fr in chain:
        m = re.match(r'^(\S+)(?: \[(\w+)\])?$', fr)
        if m.group(2) and (m.group(2) in tainted or any_module_frame_tainted):
            cul = (m.group(1), m.group(2))
            rule = 'first frame in a module tainted O/E (out-of-tree/unsigned)'
            break
    if cul is None and rip:
        cul = (rip.group(1), rip.group(4))
        rule = 'RIP function (no out-of-tree module frame on the crashing stack)'
    if cul is None:
        for fr in chain:
            m = re.match(r'^(\S+)(?: \[(\w+)\])?$', fr)
            if m.group(1) not in INFRA:
                cul = (m.group(1), m.group(2))
                rule = 'first Call Trace frame that is not panic/printk infrastructure'
                break
    f['culprit_function'], f['culprit_module'] = cul if cul else (None, None)
    f['culprit_rule'] = rule
    # a class's own report can come just before the first line (CONFIG_DEBUG_LIST prints
    # "list_add corruption." and then BUG()s)
    pre = lines[max(0, start - 3):]
    for rx, rule_of in CLASSES:
        if any(re.search(rx, l) for l in pre):
            rule_of(f, pre, lines, ko=ko)
            break
    return f


# ------------------------------------------------------------------ crash classes
# A crash that is not a bad pointer has its own rule for what the console says about the cause
# (and so what a verdict must say, and must not blame): each sets crash_class, the culprit the
# console supports (None when the cause is not a kernel function) and the keys of
# ../shared/checks' verdict check (must_match_en/_zh regexes of the narrative, not_culprit).

def _init_death(f, rep, lines=None, ko=None):
    """'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300': user space's PID 1
    exited; the exit status is decoded the way do_exit() encodes it."""
    line = next(l for l in rep if 'Attempted to kill init!' in l)
    m = re.search(r'exitcode=(0x[0-9a-f]+)', line)
    code = int(m.group(1), 16) if m else None
    f['crash_class'] = 'init-death'
    f['init_exitcode'] = m.group(1) if m else None
    blamed = [c.split(' ')[0] for c in f['call_chain']] + ([f['culprit_function']] if f['culprit_function'] else [])
    f['culprit_function'], f['culprit_module'], f['culprit_rule'] = None, None, 'init (user space) exited: no kernel culprit'
    f['not_culprit'] = sorted({b.split('.')[0] for b in blamed if b})
    f['must_match_en'] = [r'not a kernel bug', r'\binit\b']
    f['must_match_zh'] = [r'不是内核缺陷', r'init']
    if code is not None and code & 0x7f == 0:
        f['init_exit_status'] = (code >> 8) & 0xff
        f['must_match_en'].append(rf'exited with status {(code >> 8) & 0xff}\b')
        f['must_match_zh'].append(rf'退出码 {(code >> 8) & 0xff}')
    elif code is not None:
        f['init_signal'] = code & 0x7f
        f['must_match_en'].append(rf'signal .*number {code & 0x7f}\b')
        f['must_match_zh'].append(rf'编号 {code & 0x7f}')


def _chain_of(rep, start):
    """The non-'?' frames of the first Call Trace after line `start`, as (function, module)."""
    out, on = [], False
    for l in rep[start + 1:]:
        s = l.strip()
        if s == 'Call Trace:':
            on = True
            continue
        if not on:
            continue
        if s == '</TASK>' or s.startswith(('INFO: task', 'Kernel panic')):
            break
        m = re.match(r'^([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])?$', s)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _bases(f):
    return sorted({c.split(' ')[0].split('.')[0] for c in f['call_chain'] if c})


def _module_frames(f, skip=()):
    """(function, module) of the call chain's frames in a loaded module, in order."""
    out = []
    for c in f['call_chain']:
        m = re.match(r'^(\S+) \[(\w+)\]$', c)
        if m and not m.group(1).split('.')[0].startswith(skip):
            out.append((m.group(1), m.group(2)))
    return out


def _hung_task(f, rep, lines, ko=None):
    """'INFO: task X:PID blocked for more than N seconds' + 'Kernel panic - not syncing: hung_task: blocked
    tasks': the reported tasks and their traces; who holds which lock from what the kernel printed (the
    hung-task detector's 'blocked on a mutex likely owned by task Y:PID' where it has one, the lab module's
    own 'X[PID] took L1 at A, takes L2 at B next' / 'X[PID] holds L at A for ever (in F)' lines); a cycle
    of waits is a deadlock. khungtaskd, panic and the pvpanic notifier are never the cause."""
    f['crash_class'] = 'hung-task'
    # the crashing CPU runs khungtaskd's panic: its own stack dump (the Call Trace after the panic
    # line) is what an unwinder of the dump finds there; the blocked tasks' traces are the finding's
    pi = next((k for k, l in enumerate(rep) if l.startswith('Kernel panic - not syncing')), None)
    ct = next((k for k in range(pi, len(rep)) if rep[k].strip() == 'Call Trace:'), None) if pi is not None else None
    if ct is not None:
        own = []
        for l in rep[ct + 1:]:
            s = l.strip()
            if s in ('<TASK>', '<IRQ>', '</IRQ>'):
                continue
            m = re.match(r'^(\? )?([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+', s)
            if not m:
                break
            if not m.group(1) and not m.group(2).startswith(('dump_stack', 'show_stack')):
                own.append(m.group(2))
        f['bt_frames'] = own
    numbered = list(enumerate(rep))
    reported = []
    for i, l in numbered:
        m = re.search(r'INFO: task (\S+):(\d+) blocked (?:in I/O wait )?for more than (\d+) seconds', l)
        if m and all(p != int(m.group(2)) for _, p in reported):
            reported.append((m.group(1), int(m.group(2))))
            f.setdefault('hung_timeout_secs', int(m.group(3)))
            f.setdefault('hung_traces', {})[m.group(2)] = [fn for fn, _ in _chain_of(rep, i)]
    f['hung_reported'] = [f'{c}:{p}' for c, p in reported]
    comm = {p: c for c, p in reported}
    holds, waits = {}, {}            # lock name -> owner pid, pid -> lock name
    completions = {}                 # pid -> (completion symbol, module, address, waiting function)
    pages = {}                       # pid -> (pfn of the page it locked and locks again, function)
    owner_func = None
    allcon = lines
    for l in allcon:
        m = re.search(r'crashlens_lab: (\S+)\[(\d+)\] took (\w+)(?: \[\w+\])? at ([0-9a-f]+), takes (\w+)', l)
        if m:
            holds[m.group(3)] = int(m.group(2)); waits[int(m.group(2))] = m.group(5); comm.setdefault(int(m.group(2)), m.group(1))
        m = re.search(r'crashlens_lab: (\S+)\[(\d+)\] holds (\w+)(?: \[\w+\])? at ([0-9a-f]+) for ever(?: \(in (\w+)\))?', l)
        if m:
            holds[m.group(3)] = int(m.group(2)); comm.setdefault(int(m.group(2)), m.group(1))
            owner_func = m.group(5)
        m = re.search(r'INFO: task (\S+):(\d+) (?:<\w+> )?(?:is )?blocked on an? (?:mutex|rw-semaphore) likely owned by '
                      r'task (\S+):(\d+)', l)
        if m:
            comm.setdefault(int(m.group(4)), m.group(3))
        m = re.search(r'crashlens_lab: (\S+)\[(\d+)\] waits for (\w+)(?: \[(\w+)\])? at ([0-9a-f]+)(?: \(in (\w+)\))?', l)
        if m:
            comm.setdefault(int(m.group(2)), m.group(1))
            completions[int(m.group(2))] = (m.group(3), m.group(4), m.group(5), m.group(6))
        m = re.search(r'crashlens_lab: (\S+)\[(\d+)\] locked page pfn ([0-9a-f]+), locks it again(?: \(in (\w+)\))?', l)
        if m:
            comm.setdefault(int(m.group(2)), m.group(1))
            pages[int(m.group(2))] = (int(m.group(3), 16), m.group(4))
    for c, p in reported:
        if p not in waits and holds:
            # a reported task waits in mutex_lock: for the one lock the console says is held by another task
            others = [n for n, o in holds.items() if o != p]
            if len(others) == 1 and any(fn.startswith(SLEEPING_LOCKS) for fn in f.get('hung_traces', {}).get(str(p), [])):
                waits[p] = others[0]
    f['hung_locks'] = {n: f'{comm.get(o, "?")}:{o}' for n, o in holds.items()}
    # the wait-for graph: pid -> lock -> owner pid
    cycle = None
    for start in waits:
        path, cur = [start], start
        while cur in waits and waits[cur] in holds:
            nxt = holds[waits[cur]]
            if nxt in path:
                cycle = path[path.index(nxt):]
                lo = cycle.index(min(cycle))          # read from its lowest PID, as crashlens does
                cycle = cycle[lo:] + cycle[:lo]
                break
            path.append(nxt)
            cur = nxt
        if cycle:
            break
    blamed = {'watchdog', 'pvpanic_panic_notify', 'panic', 'ret_from_fork', 'ret_from_fork_asm', 'kthread',
              '__schedule', 'schedule', '__mutex_lock', 'mutex_lock', 'dump_stack_lvl', 'check_hung_task'}
    f['not_culprit'] = sorted(blamed)
    f['rip_function'] = None
    if cycle:
        f['hung_deadlock'] = [f'{comm.get(p, "?")}:{p}' for p in cycle]
        en, zh = [r'\bdeadlock\b'], [r'死锁']
        for p in cycle:
            held = next(n for n, o in holds.items() if o == p)
            en.append(rf'{re.escape(comm.get(p, "?"))}:{p} holds [^;]*\b{held}\b[^;]* waits for [^;]*\b{waits[p]}\b')
            zh.append(rf'{re.escape(comm.get(p, "?"))}:{p} 持有[^；]*{held}[^；]*等待[^；]*{waits[p]}')
        f['must_match_en'], f['must_match_zh'] = en, zh
        f['culprit_rule'] = 'deadlock: the module function that took the locks, on the blocked tasks\' stacks'
    elif not holds and any(p in pages for _, p in reported):
        # a page lock: it records no owner, so no culprit; the verdict names the page
        en, zh = [r'page lock records no owner', r'PG_locked'], [r'页锁不记录持有者', r'PG_locked']
        for c, p in reported:
            if p in pages and any(fn.startswith(PAGE_WAITS) for fn in f.get('hung_traces', {}).get(str(p), [])):
                pfn, fn = pages[p]
                f.setdefault('hung_pages', {})[f'{c}:{p}'] = {'pfn': hex(pfn), 'locked_in': fn}
                en += [rf'{re.escape(c)}:{p}', rf'pfn {hex(pfn)}\b']
                zh += [rf'{re.escape(c)}:{p}', rf'pfn {hex(pfn)}']
        f['must_match_en'], f['must_match_zh'] = en, zh
        f['culprit_function'], f['culprit_module'] = None, None
        f['culprit_rule'] = 'a page lock: no owner recorded, so no culprit function'
    elif not holds and any(p in completions for _, p in reported):
        # a completion: nobody owns it, so no culprit; the module's code says who calls complete() on it
        waiters = [(c, p) for c, p in reported if p in completions]
        en, zh = [r'\bcompletion\b', r'records no owner'], [r'completion', r'不记录持有者']
        f['hung_completions'] = {}
        for c, p in waiters:
            sym, mod, addr, fn = completions[p]
            en += [rf'{re.escape(c)}:{p}', rf'\b{sym}\b', addr]
            zh += [rf'{re.escape(c)}:{p}', sym, addr]
            f['not_culprit'] = sorted(set(f['not_culprit']) | {fn, '__wait_for_common', 'wait_for_completion',
                                                                'schedule_timeout'} - {None})
            completers = sorted(fx for fx, cs in (ko_lock_calls(ko, COMPLETE_FNS) if ko and os.path.exists(ko) else {}).items()
                                if sym in cs)
            f['hung_completions'][sym] = {'address': '0x' + addr, 'module': mod, 'waiter': f'{c}:{p}',
                                          'waiting_function': fn, 'completed_by': completers}
            for fx in completers:
                en.append(rf'\b{re.escape(fx)}\b')
                zh.append(re.escape(fx))
        f['must_match_en'], f['must_match_zh'] = en, zh
        f['culprit_function'], f['culprit_module'] = None, None
        f['culprit_rule'] = 'a completion nobody completed: no owner, so no culprit function'
    elif holds:
        (lock, owner), = [(n, o) for n, o in holds.items() if any(w == n for w in waits.values())][:1] or [next(iter(holds.items()))]
        f['hung_root_owner'] = f'{comm.get(owner, "?")}:{owner}'
        f['must_match_en'] = [r'not a deadlock', rf'{re.escape(comm.get(owner, "?"))}:{owner}', rf'\b{lock}\b']
        f['must_match_zh'] = [r'不是死锁', rf'{re.escape(comm.get(owner, "?"))}:{owner}', lock]
        if owner_func:
            f['culprit_function'], f['culprit_module'] = owner_func, 'crashlens_lab'
            f['culprit_rule'] = 'no cycle: the function of the owner that never released the lock'
            # the owner's state and what it does: the lab's holder sleeps (D state, msleep) in owner_func
            f['must_match_en'] += [r'\bD state\b', rf'{re.escape(owner_func)}']
            f['must_match_zh'] += [r'D 状态', rf'{re.escape(owner_func)}']
        else:
            f['culprit_function'], f['culprit_module'], f['culprit_rule'] = None, None, 'no cycle, owner function not printed'


PAGE_WAITS = ('folio_wait_bit', 'wait_on_page_bit', '__folio_lock', '__lock_page', 'folio_lock', 'lock_page')
SLEEPING_LOCKS = ('mutex_lock', '__mutex_lock', 'down_read', 'down_write', 'rwsem_down_read', 'rwsem_down_write')
COMPLETE_FNS = r'(?:complete|complete_all)'
SLOWPATHS = ('native_queued_spin_lock_slowpath', 'queued_spin_lock_slowpath', '__pv_queued_spin_lock_slowpath')
IDLE = ['native_safe_halt', 'pv_native_safe_halt', 'default_idle', 'arch_cpu_idle', 'default_idle_call',
        'do_idle', 'cpu_startup_entry']


def ko_lock_calls(ko, callee=r'_raw_spin_(?:lock|trylock)\w*'):
    """The module's calls to a spin lock function with a constant first argument, read with
    objdump -dr from the .ko itself: {function: [lock symbol, ...]} (the `mov $0x0,%rdi` before
    the call carries the relocation that names the lock, as section+offset or symbol)."""
    syms = {}
    for l in subprocess.run(['objdump', '-t', ko], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r'^([0-9a-f]{16}) (.{7}) (\S+)\s+[0-9a-f]{16} (\S+)$', l)
        if m and m.group(3).startswith('.') and 'O' in m.group(2):
            syms[(m.group(3), int(m.group(1), 16))] = m.group(4)
    out, func, rdi, pending_rdi = {}, None, None, False
    for l in subprocess.run(['objdump', '-dr', ko], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r'^[0-9a-f]{16} <(.+)>:$', l)
        if m:
            func, rdi = m.group(1), None
            continue
        m = re.search(r'R_X86_64_32S\s+(\S+)$', l)
        if m and pending_rdi:
            t = m.group(1)
            m2 = re.match(r'^(\.[A-Za-z0-9_.]+)(?:\+0x([0-9a-f]+))?$', t)
            rdi = syms.get((m2.group(1), int(m2.group(2) or '0', 16)), t) if m2 else t
            continue
        pending_rdi = bool(re.search(r'\tmov\s+\$0x0,%rdi$', l))
        m = re.search(rf'R_X86_64_PLT32\s+({callee})-0x4$', l)
        if m and func and rdi:
            out.setdefault(func, []).append(rdi)
    return out


def _lockup(f, rep, lines=None, ko=None):
    """'watchdog: BUG: soft lockup - CPU#N stuck for Xs! [comm:pid]'. A CPU interrupted in a
    spin lock's slow path waits for the lock in RDI (the slow path's first argument, printed in
    the register dump); the module's own code (objdump -dr of the .ko) says which symbol the
    waiter passed and which other functions take that lock: when the waiter is the only one on
    the stack, the other taker returned with it held."""
    line = next(l for l in rep if re.search(r'soft lockup|hard LOCKUP', l))
    m = re.search(r'CPU#(\d+) stuck for (\d+)s', line)
    f['crash_class'] = 'lockup'
    f['lockup_cpu'], f['lockup_seconds'] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    f['not_culprit'] = sorted(set(IDLE))
    f['must_match_en'] = [r'soft lockup' if 'soft' in line else r'hard lockup']
    f['must_match_zh'] = [r'soft lockup' if 'soft' in line else r'hard lockup']
    if f['lockup_cpu'] is not None:
        f['must_match_en'].append(rf'CPU {f["lockup_cpu"]}\b')
        f['must_match_zh'].append(rf'CPU {f["lockup_cpu"]}')
    if f['rip_function'] not in SLOWPATHS:
        return
    regs = f.get('oops_registers') or {}
    f['spinlock_address'] = regs.get('rdi')
    chain = [c.split(' ') for c in f['call_chain']]
    wc = next((c for c in chain[1:] if len(c) > 1 and not c[0].startswith('_raw_spin')), None)
    waiter, wmod = (wc[0], wc[1].strip('[]')) if wc else (None, None)
    f['spinlock_waiter'] = waiter
    f['not_culprit'] = sorted(set(IDLE + [f['rip_function'], '_raw_spin_lock'] + ([waiter.split('.')[0]] if waiter else [])))
    f['must_match_en'].append(re.escape(f['spinlock_address'][2:]) if f['spinlock_address'] else r'spinlock')
    if not (ko and waiter and os.path.exists(ko)):
        return
    calls = ko_lock_calls(ko)
    lock = next(iter(calls.get(waiter, [])), None)
    f['spinlock_symbol'] = lock
    takers = sorted(fn for fn, locks in calls.items() if lock in locks)
    f['spinlock_takers'] = takers
    others = [t for t in takers if t != waiter]
    if lock:
        f['must_match_en'].append(rf'\b{re.escape(lock)}\b')
        f['must_match_zh'].append(rf'\b{re.escape(lock)}\b')
    # the lab's holder says where it is: "X[PID] on CPU N holds L at A, polling (in F)"
    held = next((m for m in (re.search(r'crashlens_lab: (\S+)\[(\d+)\] on CPU (\d+) holds (\w+)(?: \[\w+\])? at '
                                       r'([0-9a-f]+), \w+ \(in (\w+)\)', l) for l in lines or []) if m
                 and m.group(4) == lock), None)
    if held and held.group(6) in takers:
        cpu_, fn = int(held.group(3)), held.group(6)
        f['spinlock_holder'] = {'cpu': cpu_, 'comm': held.group(1), 'pid': int(held.group(2)), 'function': fn}
        f['culprit_function'], f['culprit_module'] = fn, wmod
        f['culprit_rule'] = 'the function another CPU is inside, holding the lock the locked-up CPU waits for'
        f['must_match_en'] += [rf'CPU {cpu_}\b[^.]*\bholds it', rf'PID {held.group(2)}\b', rf'\b{re.escape(fn)}\b']
        f['must_match_zh'] += [rf'持有者是 CPU {cpu_}', rf'PID {held.group(2)}', re.escape(fn)]
    elif len(others) == 1:
        f['culprit_function'], f['culprit_module'] = others[0], wmod
        f['culprit_rule'] = 'the other function that takes the lock the locked-up CPU waits for (no CPU is inside it)'
        f['must_match_en'] += [r'never released', rf'\b{re.escape(others[0].split(".")[0])}\b']
        f['must_match_zh'] += [r'从未释放', rf'{re.escape(others[0].split(".")[0])}']


def _rcu_stall(f, rep, lines=None, ko=None):
    """'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' / 'self-detected stall on CPU':
    the CPUs of the '  N-....: (...)' lines; what the stalled CPU ran is the RIP of the report's
    backtrace (the culprit by the generic rule: the module frame / the RIP function)."""
    i = next(i for i, l in enumerate(rep) if re.search(r'(?:rcu: )?INFO: rcu_\w+ .*stall', l))
    f['crash_class'] = 'rcu-stall'
    f['rcu_flavor'] = re.search(r'INFO: (\S+)', rep[i]).group(1)
    cpus = []
    for l in rep[i + 1:i + 10]:
        m = re.match(r'^(?:rcu:)?\s+(\d+)-\S*: ', l)
        if m:
            cpus.append(int(m.group(1)))
    f['rcu_stalled_cpus'] = cpus
    # 4.x prints the interrupted context after '<EOI>' with a '?' (the frame-pointer unwinder's
    # guess), which the generic chain skips: it is still what the stalled CPU ran
    j = next((k for k in range(i, len(rep) - 1) if rep[k].strip() in ('<EOI>', '</IRQ>')), None)
    eoi = re.match(r'^(?:\? )?([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])?$',
                   rep[j + 1].strip()) if j is not None else None
    if eoi and eoi.group(2):
        f['culprit_function'], f['culprit_module'] = eoi.group(1), eoi.group(2)
        f['culprit_rule'] = "the stalled CPU's interrupted function (after <EOI>), in a module"
        f['bt_frames'] = [eoi.group(1)] + [b for b in f.get('bt_frames') or [] if b != eoi.group(1)]
    f['not_culprit'] = sorted(set(IDLE + ['rcu_sched_clock_irq', 'rcu_pending', 'print_cpu_stall', 'panic',
                                         'update_process_times', 'tick_sched_timer']))
    f['must_match_en'] = [r'RCU', r'stall'] + [rf'CPU {c}\b' for c in cpus]
    f['must_match_zh'] = [r'RCU', r'停滞'] + [rf'CPU {c}' for c in cpus]


def _machine_check(f, rep, lines=None, ko=None):
    """'mce: [Hardware Error]: CPU 1: Machine Check Exception: 6 Bank 1: be0000000000009f' and its
    ADDR/MISC line: hardware, no kernel culprit; MCi_STATUS decoded bit by bit."""
    line = next(l for l in rep if re.search(r'mce: \[Hardware Error\]: CPU \d+: Machine Check', l))
    m = re.search(r'CPU (\d+): Machine Check[^:]*: ([0-9a-f]+) Bank (\d+): ([0-9a-f]+)', line)
    cpu, mcg, bank, status = int(m.group(1)), int(m.group(2), 16), int(m.group(3)), int(m.group(4), 16)
    f['crash_class'] = 'machine-check'
    f['mce_cpu'], f['mce_bank'], f['mce_mcg_status'], f['mce_status'] = cpu, bank, hex(mcg), f'{status:#018x}'
    f['mce_status_flags'] = [n for b, n in ((63, 'VAL'), (62, 'OVER'), (61, 'UC'), (60, 'EN'), (59, 'MISCV'),
                                            (58, 'ADDRV'), (57, 'PCC'), (56, 'S'), (55, 'AR')) if status >> b & 1]
    f['mce_mca_code'] = hex(status & 0xffff)
    a = next((re.search(r'ADDR ([0-9a-f]+)', l) for l in rep if 'mce: [Hardware Error]:' in l and ' ADDR ' in l), None)
    f['mce_address'] = hex(int(a.group(1), 16)) if a else None
    r = next((re.search(r'\{(\w+)', l) for l in rep if 'mce: [Hardware Error]: RIP' in l), None)
    f['mce_rip_function'] = r.group(1) if r else None
    f['culprit_function'], f['culprit_module'] = None, None
    f['culprit_rule'] = 'hardware (machine check): no kernel culprit'
    f['not_culprit'] = sorted(set(IDLE + ([r.group(1)] if r else [])))
    f['must_match_en'] = [r'not a software bug', r'hardware', rf'bank {bank}\b', f'{status:#018x}']
    f['must_match_zh'] = [r'不是软件缺陷', r'硬件', rf'bank {bank}', f'{status:#018x}']
    if 'PCC' in f['mce_status_flags']:
        f['must_match_en'].append(r'processor context corrupt')
        f['must_match_zh'].append(r'PCC|处理器上下文')
    if f['mce_address']:
        f['must_match_en'].append(re.escape(f['mce_address']))
        f['must_match_zh'].append(re.escape(f['mce_address']))


def _oom(f, rep, lines=None, ko=None):
    """'Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled': the OOM
    report's task table (rss in pages) and, when printed, its 'Unreclaimable slab info' table say
    who held the memory: a slab cache larger than every process together is a leak (its module by
    the cache's name prefix, the allocating function by that module's frame on the stack), else
    the largest process (user space: no kernel culprit)."""
    f['crash_class'] = 'oom'
    tasks = []
    for l in rep:
        # [pid] uid tgid total_vm rss [rss_anon rss_file rss_shmem (6.2+)] pgtables swapents adj name
        m = re.match(r'^\[\s*(\d+)\]\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+((?:\d+\s+){2,5})(-?\d+)\s+(\S+)$', l)
        if m:
            tasks.append({'pid': int(m.group(3)), 'rss': int(m.group(5)), 'name': m.group(8)})
    slab = []
    if 'Unreclaimable slab info:' in rep:
        for l in rep[rep.index('Unreclaimable slab info:') + 1:]:
            m = re.match(r'^(\S+)\s+(\d+)KB\s+(\d+)KB$', l)
            if m:
                slab.append((m.group(1), int(m.group(3))))
            elif not l.startswith('Name '):
                break
    f['oom_tasks'] = tasks
    f['oom_unreclaimable_slab_top'] = max(slab, key=lambda x: x[1]) if slab else None
    rss_kb = 4 * sum(t['rss'] for t in tasks)
    # no "Modules linked in" line in an OOM report: the modules on the stack
    mods = [m.split('(')[0] for m in (f.get('modules_linked_in') or '').split()] + [m for _, m in _module_frames(f)]
    top = f['oom_unreclaimable_slab_top']
    if top and top[1] > rss_kb:
        cache = top[0]
        mod = max((m for m in mods if cache.startswith(m)), key=len, default=None)
        fn = next((fr for fr, m in _module_frames(f) if m == mod), None)
        f['oom_hog'] = {'slab_cache': cache, 'kb': top[1], 'module': mod}
        f['culprit_function'], f['culprit_module'] = (fn, mod) if fn else (None, None)
        f['culprit_rule'] = 'OOM: the largest unreclaimable slab cache outgrew every process; its module by name prefix'
        f['must_match_en'] = [r'memory leak', rf'slab cache {re.escape(cache)}'] + ([rf'module {mod}'] if mod else [])
        f['must_match_zh'] = [r'内存泄漏', rf'slab 缓存 {re.escape(cache)}'] + ([rf'{mod} 模块'] if mod else [])
        f['not_culprit'] = sorted(set(_bases(f)) - {fn.split('.')[0]} if fn else set(_bases(f)))
    else:
        hog = max(tasks, key=lambda t: t['rss']) if tasks else None
        f['oom_hog'] = {'task': hog['name'], 'pid': hog['pid'], 'rss_pages': hog['rss']} if hog else None
        f['culprit_function'], f['culprit_module'] = None, None
        f['culprit_rule'] = 'OOM from user-space memory pressure: no kernel culprit'
        f['not_culprit'] = _bases(f)
        f['must_match_en'] = [r'memory pressure from user space', r'not a kernel bug']
        f['must_match_zh'] = [r'用户态进程造成的内存压力', r'不是内核缺陷']
        if hog:
            f['must_match_en'].append(rf'"{re.escape(hog["name"])}" \(PID {hog["pid"]}\)')
            f['must_match_zh'].append(rf'"{re.escape(hog["name"])}"（PID {hog["pid"]}）')


def _stack_protector(f, rep, lines=None, ko=None):
    """'stack-protector: Kernel stack is corrupted in: F+off/size [mod]': F's own frame."""
    line = next(l for l in rep if 'Kernel stack is corrupted in:' in l)
    m = re.search(r'corrupted in: ([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])?', line)
    f['crash_class'] = 'stack-corruption'
    if m:
        f['culprit_function'], f['culprit_module'] = m.group(1), m.group(2)
        f['culprit_rule'] = 'the function the stack protector names (its canary was overwritten)'
        f['must_match_en'] = [r'stack protector', r'canary', re.escape(m.group(1).split('.')[0])]
        f['must_match_zh'] = [r'栈保护', r'canary', re.escape(m.group(1).split('.')[0])]
    f['not_culprit'] = ['__stack_chk_fail', 'panic', 'vpanic']


LIST_HELPERS = ('list_add', 'list_del', '__list_add', '__list_del', 'list_move', 'list_replace')


def _list_corruption(f, rep, lines=None, ko=None):
    """CONFIG_DEBUG_LIST: 'list_add corruption. prev->next should be next (A), but was B. (prev=C).'
    The culprit is the first out-of-tree module frame that is not a list helper (the module's own
    out-of-line list_add_tail copy is one): the code working on its list."""
    line = next(l for l in rep if re.match(r'^list_(add|del) ', l))
    f['crash_class'] = 'list-corruption'
    f['list_report'] = line
    f['list_operation'] = 'list_del' if line.startswith('list_del') else 'list_add'
    fr = _module_frames(f, LIST_HELPERS)
    if fr:
        f['culprit_function'], f['culprit_module'] = fr[0]
        f['culprit_rule'] = 'first module frame on the stack that is not a list helper'
    addrs = re.findall(r'\b([0-9a-f]{16})\b', line)
    f['list_addresses'] = addrs
    f['must_match_en'] = [r'CONFIG_DEBUG_LIST', rf'{f["list_operation"]}\(\)'] + [rf'0x{a}' for a in addrs[2:3]]
    f['must_match_zh'] = [r'链表', rf'{f["list_operation"]}\(\)'] + [rf'0x{a}' for a in addrs[2:3]]
    f['not_culprit'] = ['__list_add_valid', '__list_add_valid_or_report', '__list_del_entry_valid',
                        '__list_del_entry_valid_or_report', 'panic', 'oops_end']


def _slub(f, rep, lines=None, ko=None):
    """SLUB debug: 'BUG kmalloc-32 (Tainted: ...): PROBLEM' with 'Allocated in F' and 'Freed in G'
    (slub_debug=U), by the problem's shape:
    - 'Object already free': the module frame that freed it again (first module frame on the stack);
    - '[Right |Left ]Redzone overwritten': the function that allocated the object (its owner wrote
      past it); 'Freed in' is an earlier life of that memory and the free that found it is innocent;
    - 'Poison overwritten': written after its free; the report names no writer, so no culprit; the
      allocation that found it is innocent.
    The damaged bytes come from '0xA-0xB @offset=N. First byte 0xX instead of 0xY'."""
    line = next(l for l in rep if re.match(r'^BUG \S+ \(.*\): ', l))
    m = re.match(r'^BUG (\S+) \(.*\): (.*)$', line)
    f['crash_class'] = 'slab-corruption'
    f['slab_cache'], f['slab_problem'] = m.group(1), m.group(2).strip()
    tracked = lambda key: next((re.match(rf'^{key} in ([A-Za-z0-9_.]+)\+\S+(?: \[(\w+)\])?', l).groups() for l in rep
                                if re.match(rf'^{key} in [A-Za-z0-9_.]+\+', l)), (None, None))
    (f['slab_allocated_in'], alloc_mod), (f['slab_freed_in'], _) = tracked('Allocated'), tracked('Freed')
    # 7.x prints the damaged region first, '[Right Redzone overwritten] 0xA-0xB ... First byte ..',
    # and then 'BUG kmalloc-32 (...): Object corrupt'
    bug_at = rep.index(line)
    rg = next((re.match(r'^\[([A-Za-z ]+ overwritten)\] (.*)$', l) for l in rep[:bug_at]
               if re.match(r'^\[[A-Za-z ]+ overwritten\] 0x', l)), None)
    f['slab_region'] = rg.group(1) if rg else None
    dmg_lines = [rg.group(2)] if rg else rep
    dm = next((re.match(r'^(?:INFO: )?0x([0-9a-f]+)-0x([0-9a-f]+) .*First byte 0x([0-9a-f]+) instead of 0x([0-9a-f]+)', l)
               for l in dmg_lines if re.match(r'^(?:INFO: )?0x[0-9a-f]+-0x[0-9a-f]+ .*First byte', l)), None)
    if dm:
        f['slab_damage'] = {'start': '0x' + dm.group(1), 'end': '0x' + dm.group(2),
                            'first_byte': int(dm.group(3), 16), 'expected': int(dm.group(4), 16)}
    om = next((re.match(r'^(?:INFO: )?Object 0x([0-9a-f]+) ', l) for l in rep if re.match(r'^(?:INFO: )?Object 0x[0-9a-f]+ ', l)), None)
    f['slab_object'] = '0x' + om.group(1) if om else None
    problem = (f['slab_region'] or f['slab_problem']).lower()
    fr = _module_frames(f)
    en = [re.escape(f['slab_cache'])]
    zh = [re.escape(f['slab_cache'])]
    not_culprit = ['object_err', 'free_to_partial_list', 'kfree', 'kmem_cache_free', 'kmem_cache_alloc', 'panic',
                   'add_taint', 'check_panic_on_taint', 'slab_err', 'print_trailer', 'check_bytes_and_report',
                   'check_object', 'alloc_debug_processing', 'free_debug_processing']
    if 'already free' in problem:
        f['slab_check'] = 'double_free'
        if fr:
            f['culprit_function'], f['culprit_module'] = fr[0]
            f['culprit_rule'] = 'the module frame that freed the object again (first module frame on the stack)'
        en.append(r'double free')
        zh.append(r'重复释放')
        sites = (f['slab_allocated_in'], f['slab_freed_in'])
    elif 'redzone overwritten' in problem:
        f['slab_check'] = 'redzone'
        # the allocating function owns the object; the stack's module frame only freed it
        f['culprit_function'], f['culprit_module'] = f['slab_allocated_in'], alloc_mod
        f['culprit_rule'] = 'the function that allocated the object whose red zone was overwritten ("Allocated in")'
        if fr and fr[0][0].split('.')[0] != (f['slab_allocated_in'] or '').split('.')[0]:
            f['slab_detected_by'] = fr[0][0]
            not_culprit.append(fr[0][0].split('.')[0])
        if f['slab_freed_in'] and f['slab_freed_in'] != f['slab_allocated_in']:
            not_culprit.append(f['slab_freed_in'].split('.')[0])   # the memory's previous object
        en += [r'red zone', r'past its end']
        zh += [r'redzone', r'越界写']
        sites = (f['slab_allocated_in'],) + ((f.get('slab_detected_by'),) if f.get('slab_detected_by') else ())
    elif 'poison overwritten' in problem:
        f['slab_check'] = 'poison'
        f['culprit_function'], f['culprit_module'] = None, None
        f['culprit_rule'] = 'written after its free: the report does not say by whom'
        if fr:
            f['slab_detected_by'] = fr[0][0]
            not_culprit.append(fr[0][0].split('.')[0])
        en += [r'written after it was freed', r'use after free']
        zh += [r'释放后被写入', r'释放后使用']
        sites = (f['slab_allocated_in'], f['slab_freed_in'], f.get('slab_detected_by'))
    else:
        f['slab_check'] = 'other'
        f['culprit_function'], f['culprit_module'] = f['slab_allocated_in'], alloc_mod
        f['culprit_rule'] = 'the function that allocated the damaged object ("Allocated in")'
        sites = (f['slab_allocated_in'], f['slab_freed_in'])
    if dm:
        en.append(rf'0x{dm.group(1)}')
        zh.append(rf'0x{dm.group(1)}')
    for s_ in sites:
        if s_:
            en.append(re.escape(s_))
            zh.append(re.escape(s_))
    f['must_match_en'], f['must_match_zh'] = en, zh
    f['not_culprit'] = not_culprit


def _bad_page(f, rep, lines=None, ko=None):
    """'BUG: Bad page state in process X  pfn:NNNNN' ... 'page dumped because: R': the code that
    freed the page still in use is the first module frame on the stack."""
    line = next(l for l in rep if l.startswith('BUG: Bad page state'))
    f['crash_class'] = 'bad-page'
    m = re.search(r'pfn:([0-9a-f]+)', line)
    f['bad_page_pfn'] = hex(int(m.group(1), 16)) if m else None
    r = next((l[len('page dumped because: '):].strip() for l in rep if l.startswith('page dumped because: ')), None)
    f['bad_page_reason'] = r
    fr = _module_frames(f)
    if fr:
        f['culprit_function'], f['culprit_module'] = fr[0]
        f['culprit_rule'] = 'the module frame that freed the page (first module frame on the stack)'
    else:
        # checked later, when a per-CPU free list was flushed: the stack is another free's
        f['culprit_function'], f['culprit_module'] = None, None
        f['culprit_rule'] = 'no module frame on the stack: the page was checked after its free'
    f['must_match_en'] = [r'still in use'] + ([rf'pfn {f["bad_page_pfn"]}\b'] if m else []) + ([re.escape(r)] if r else [])
    f['must_match_zh'] = [r'仍处于使用状态'] + ([rf'pfn {f["bad_page_pfn"]}\b'] if m else []) + ([re.escape(r)] if r else [])
    f['not_culprit'] = sorted({'bad_page', 'free_page_is_bad', 'free_pages_prepare', 'free_unref_page', '__free_pages',
                               'panic', 'add_taint', 'check_panic_on_taint'} | (set() if fr else set(_bases(f))))


CLASSES = [
    (r'Kernel panic - not syncing: Attempted to kill init!', _init_death),
    (r'Kernel panic - not syncing: hung_task: blocked tasks', _hung_task),
    (r'mce: \[Hardware Error\]: CPU \d+: Machine Check', _machine_check),
    (r'(?:NMI )?watchdog: BUG: soft lockup|Watchdog detected hard LOCKUP', _lockup),
    (r'(?:rcu: )?INFO: rcu_\w+ .*stall', _rcu_stall),
    (r'Kernel panic - not syncing: Out of memory', _oom),
    (r'stack-protector: Kernel stack is corrupted in:', _stack_protector),
    (r'^list_(add|del) (corruption|double add)', _list_corruption),
    (r'^BUG \S+ \(.*\): ', _slub),
    (r'^BUG: Bad page state', _bad_page),
]


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('console')
    ap.add_argument('--scenario')
    ap.add_argument('--vmcoreinfo')
    ap.add_argument('-o', '--out')
    ap.add_argument('--ko', help='the module the guest loaded (spinlock takers from its code)')
    a = ap.parse_args()
    f = parse(lines_of(a.console), a.scenario, a.ko)
    if a.vmcoreinfo:
        vi = open(a.vmcoreinfo).read()
        m = re.search(r'^OSRELEASE=(\S+)', vi, re.M)
        if m and f['kernel_release'] and m.group(1) != f['kernel_release']:
            raise SystemExit(f'console release {f["kernel_release"]} != VMCOREINFO {m.group(1)}')
        m = re.search(r'^NUMBER\(pgtable_l5_enabled\)=(\d+)', vi, re.M)
        if m:
            f['pgtable_l5_enabled'] = int(m.group(1))
    out = json.dumps(f, indent=1)
    if a.out:
        open(a.out, 'w').write(out + '\n')
    print(out)


if __name__ == '__main__':
    main()
