#!/usr/bin/env python3
"""Writes the starting corpora for the fuzz targets into corpus/<target>/.

Seeds are real where they can be (the fixtures' VMCOREINFO text and console logs, the syzkaller
report corpus) and built here where the real thing is too large or not a separate file (a small
BTF blob, ORC tables with a stack, a printk ring laid out in kernel-image memory)."""
import os, struct, sys, glob

root = os.path.dirname(os.path.abspath(__file__))
fix = os.environ.get("CRASHLENS_FIXTURES", os.path.join(root, "..", "..", "..", "shared", "fixtures"))
if not os.path.isdir(fix):
    fix = "/work/shared/fixtures"
corpus_reports = os.path.join(os.path.dirname(fix), "corpus", "syzkaller-linux-reports")

def out(target, name, data):
    d = os.path.join(root, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# --- vmcoreinfo: the fixtures' notes.
for p in glob.glob(os.path.join(fix, "*", "oracle", "vmcoreinfo.txt")):
    out("vmcoreinfo", os.path.basename(os.path.dirname(os.path.dirname(p))), open(p, "rb").read())

# --- oops: fixture console logs and a sample of the syzkaller reports.
for p in glob.glob(os.path.join(fix, "*", "oracle", "console.log")):
    out("oops", os.path.basename(os.path.dirname(os.path.dirname(p))), open(p, "rb").read()[-60000:])
for i, p in enumerate(sorted(glob.glob(os.path.join(corpus_reports, "*")))):
    if i % 4 == 0 and os.path.isfile(p):
        out("oops", "syz-" + os.path.basename(p), open(p, "rb").read()[:60000])

# --- btf: a small blob with the kinds the parser knows.
def btf(types, strs):
    tb = b"".join(types)
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(tb), len(tb), len(strs))
    return hdr + tb + strs

strs = b"\0long\0task_struct\0pid\0thread\0sp\0thread_struct\0inactive_task_frame\0bp\0ret_addr\0E\0A\0f\0x\0"
def so(s):
    return strs.index(s.encode() + b"\0")
def t(name, kind, vlen, size_or_type, kflag=0):
    return struct.pack("<III", so(name) if name else 0, (kflag << 31) | (kind << 24) | vlen, size_or_type)
types = [
    t("long", 1, 0, 8) + struct.pack("<I", 64),                                   # 1 int
    t("thread_struct", 4, 1, 16) + struct.pack("<III", so("sp"), 1, 64),          # 2 struct
    t("task_struct", 4, 2, 64) + struct.pack("<III", so("pid"), 1, 0) + struct.pack("<III", so("thread"), 2, 128),  # 3
    t("inactive_task_frame", 4, 2, 16) + struct.pack("<III", so("bp"), 1, 0) + struct.pack("<III", so("ret_addr"), 1, 64),  # 4
    t(None, 2, 0, 3),                                                               # 5 ptr -> task_struct
    t(None, 3, 0, 0) + struct.pack("<III", 1, 1, 4),                                # 6 array long[4]
    t("E", 6, 1, 4) + struct.pack("<Ii", so("A"), -1),                              # 7 enum
    t(None, 13, 1, 1) + struct.pack("<II", so("x"), 5),                             # 8 func proto (task_struct *x)
    t("f", 12, 0, 8),                                                               # 9 func
    t(None, 8, 0, 3),                                                               # 10 typedef
]
out("btf", "small", btf(types, strs))
out("btf", "loop", btf([t(None, 8, 0, 2), t(None, 8, 0, 1)], strs))

# --- orc: version, count, ip table (s32 relative), entries, start regs, stack.
TEXT = 0xffffffff81000000
IPT = TEXT + 0x8000
def orc_seed(ver, ents, stack_words, rip_off, rsp_off, rbp_off):
    n = len(ents)
    ipb = b"".join(struct.pack("<i", (TEXT + ip) - (IPT + 4 * i)) for i, (ip, _) in enumerate(ents))
    enb = b"".join(e for _, e in ents)
    regs = struct.pack("<QQQQ", rip_off, rsp_off, rbp_off, 0)
    return bytes([ver]) + struct.pack("<H", n) + ipb + enb + regs + b"".join(struct.pack("<Q", w) for w in stack_words)
def v3(sp_reg, sp_off, typ, bp_reg=0, bp_off=0):
    return struct.pack("<hhH", sp_off, bp_off, sp_reg | (bp_reg << 4) | (typ << 8))
# CALL frames with sp+8 / sp+16, a REGS frame, then end of stack.
stack = [TEXT + 0x105, 0, TEXT + 0x20a, TEXT + 0x30f] + [0] * 16 + [TEXT + 0x400, 0x10, 0x246, 0, 0x18] + [0] * 8
out("orc", "v3", orc_seed(2, [(0x100, v3(5, 8, 2)), (0x200, v3(5, 16, 2)), (0x300, v3(5, 8, 3)), (0x400, v3(5, 8, 1))], stack, 0x100, 0, 0))
out("orc", "fp", orc_seed(0, [], [0x40, TEXT + 0x105, 0x80, TEXT + 0x20a] + [0] * 12 + [0, TEXT + 0x30f], 0x900, 0, 0x30))
out("orc", "v1", orc_seed(0, [(0x100, struct.pack("<hhH", 8, -16, 5 | (1 << 4))), (0x200, struct.pack("<hhH", 0, 0, 1 << 10))], stack, 0x100, 0, 0))

# --- printk: VMCOREINFO, NUL, physical memory (phys = vaddr - __START_KERNEL_map).
K = 0xffffffff80000000
def lockless():
    mem = bytearray(0x1000)
    prb, descs, infos, data = 0x100, 0x200, 0x400, 0x800
    struct.pack_into("<Q", mem, 0x0, K + prb)
    count_bits, size_bits = 2, 8
    texts = [b"Linux version 6.1.0", b"BUG: kernel NULL pointer dereference, address: 0000000000000010", b"RIP: 0010:f+0x1/0x2"]
    lpos = 0
    for i, txt in enumerate(texts):
        blk = 8 + len(txt)
        blk = (blk + 7) & ~7
        struct.pack_into("<Q", mem, data + lpos, i)
        mem[data + lpos + 8:data + lpos + 8 + len(txt)] = txt
        struct.pack_into("<QQQ", mem, descs + 24 * i, (2 << 62) | i, lpos, lpos + blk)
        struct.pack_into("<QQHBBI", mem, infos + 32 * i, i, 1000000 * (i + 1), len(txt), 0, 4 << 5, 0x80000001 if i == 1 else 7)
        lpos += blk
    struct.pack_into("<IxxxxQQQQ", mem, prb, count_bits, K + descs, K + infos, len(texts) - 1, 0)
    struct.pack_into("<IxxxxQ", mem, prb + 64, size_bits, K + data)
    vi = f"""OSRELEASE=6.1.0
SYMBOL(prb)={K:x}
NUMBER(phys_base)=0
OFFSET(printk_ringbuffer.desc_ring)=0
OFFSET(printk_ringbuffer.text_data_ring)=64
OFFSET(prb_desc_ring.count_bits)=0
OFFSET(prb_desc_ring.descs)=8
OFFSET(prb_desc_ring.infos)=16
OFFSET(prb_desc_ring.head_id)=24
OFFSET(prb_desc_ring.tail_id)=32
OFFSET(atomic_long_t.counter)=0
OFFSET(prb_data_ring.size_bits)=0
OFFSET(prb_data_ring.data)=8
SIZE(prb_desc)=24
OFFSET(prb_desc.state_var)=0
OFFSET(prb_desc.text_blk_lpos)=8
OFFSET(prb_data_blk_lpos.begin)=0
OFFSET(prb_data_blk_lpos.next)=8
SIZE(printk_info)=32
OFFSET(printk_info.seq)=0
OFFSET(printk_info.ts_nsec)=8
OFFSET(printk_info.text_len)=16
OFFSET(printk_info.caller_id)=20
"""
    return vi.encode() + b"\0" + bytes(mem)
def structured():
    mem = bytearray(0x800)
    buf = 0x100
    idx = 0
    for i, txt in enumerate([b"Linux version 4.19.0", b"kernel BUG at mm/slub.c:42!", b"invalid opcode: 0000 [#1] SMP"]):
        ln = (16 + len(txt) + 7) & ~7
        struct.pack_into("<QHHHBB", mem, buf + idx, 1000 * i, ln, len(txt), 0, 0, 3 << 5)
        mem[buf + idx + 16:buf + idx + 16 + len(txt)] = txt
        idx += ln
    struct.pack_into("<Q", mem, 0x0, K + buf)
    struct.pack_into("<I", mem, 0x8, 0x400)
    struct.pack_into("<I", mem, 0x10, 0)
    struct.pack_into("<I", mem, 0x18, idx)
    vi = f"""OSRELEASE=4.19.0
NUMBER(phys_base)=0
SYMBOL(log_buf)={K:x}
SYMBOL(log_buf_len)={K + 8:x}
SYMBOL(log_first_idx)={K + 0x10:x}
SYMBOL(log_next_idx)={K + 0x18:x}
SIZE(printk_log)=16
OFFSET(printk_log.ts_nsec)=0
OFFSET(printk_log.len)=8
OFFSET(printk_log.text_len)=10
"""
    return vi.encode() + b"\0" + bytes(mem)
out("printk", "lockless", lockless())
out("printk", "structured", structured())
print("seeds written under", os.path.join(root, "corpus"))
