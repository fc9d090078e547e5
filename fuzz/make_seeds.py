#!/usr/bin/env python3
"""Small seed inputs for the fuzz targets, cut from a real vmcore (never invented page data).

usage: make_seeds.py BASE_ELF OUTDIR
BASE_ELF: an ELF vmcore with e_phoff == 64 (../shared/vmcore-lab/elf_phdr_first.py output).
Writes corpus/elf/seed.elf, corpus/diskdump/seed-{zlib,mixed}.kdump, corpus/flattened/seed.flat
with the real note segment and the first 64 pages of real memory.
"""
import os, struct, sys, zlib

base, out = sys.argv[1], sys.argv[2]
d = open(base, "rb").read()
phoff, = struct.unpack_from("<Q", d, 32)
phnum, = struct.unpack_from("<H", d, 56)
notes = None; loads = []
for i in range(phnum):
    t, fl, off, va, pa, fs, ms, al = struct.unpack_from("<IIQQQQQQ", d, phoff + 56 * i)
    if t == 4: notes = d[off:off + fs]
    if t == 1: loads.append((off, va, pa, fs, ms))
off0, va0, pa0, fs0, ms0 = loads[0]
NP = 64
pages = [d[off0 + 4096 * i: off0 + 4096 * (i + 1)] for i in range(NP)]
for k in ("elf", "diskdump", "flattened"):
    os.makedirs(os.path.join(out, k), exist_ok=True)

# ELF: header, 2 phdrs (note, one load of NP pages with p_memsz > p_filesz), notes, pages.
nph = 2
hdr = bytearray(d[:64]); struct.pack_into("<Q", hdr, 32, 64); struct.pack_into("<Q", hdr, 40, 0)
struct.pack_into("<H", hdr, 56, nph); struct.pack_into("<H", hdr, 60, 0); struct.pack_into("<H", hdr, 62, 0)
noff = 64 + 56 * nph; doff = noff + len(notes)
ph = struct.pack("<IIQQQQQQ", 4, 0, noff, 0, 0, len(notes), len(notes), 0)
ph += struct.pack("<IIQQQQQQ", 1, 7, doff, va0, pa0, 4096 * (NP // 2), 4096 * NP, 4096)
open(os.path.join(out, "elf", "seed.elf"), "wb").write(bytes(hdr) + ph + notes + b"".join(pages[:NP // 2]))

def kdump(codec_of):
    bs = 4096
    h = bytearray(bs); h[:8] = b"KDUMP   "; struct.pack_into("<i", h, 8, 6)
    h[12 + 65 * 2: 12 + 65 * 2 + 4] = b"test"
    struct.pack_into("<IiiIIIIIIi", h, 424, 1, bs, 1, 2, NP, 0, 0, 0, 0, 1)
    desc_off = bs * (1 + 1 + 2)
    data_off = desc_off + 24 * NP
    note_off = data_off
    data = bytearray(notes)
    zero_off = data_off + len(data); data += bytes(bs)
    descs = bytearray()
    for i, p in enumerate(pages):
        c = codec_of(i)
        if p == bytes(bs):
            descs += struct.pack("<QIIQ", zero_off, bs, 0, 0); continue
        blob, fl = (zlib.compress(p), 1) if c == "zlib" else (p, 0)
        descs += struct.pack("<QIIQ", data_off + len(data), len(blob), fl, 0); data += blob
    sub = bytearray(bs)
    struct.pack_into("<QiiQQQQQQQQQQQ", sub, 0, 0, 1, 0, 0, NP, 0, 0, note_off, len(notes), 0, 0, 0, NP, NP)
    bm = bytearray(bs); bm[:NP // 8] = b"\xff" * (NP // 8)
    bm2 = bytearray(bs); bm2[:NP // 8] = b"\xff" * (NP // 8); bm2[1] = 0x0f  # 4 excluded pages
    # excluded pages have no descriptor: drop them
    keep = [i for i in range(NP) if (bm2[i // 8] >> (i % 8)) & 1]
    descs = b"".join(descs[24 * i: 24 * i + 24] for i in keep) + bytes(24 * (NP - len(keep)))
    return bytes(h) + bytes(sub) + bytes(bm) + bytes(bm2) + descs + bytes(data)

kz = kdump(lambda i: "zlib")
open(os.path.join(out, "diskdump", "seed-zlib.kdump"), "wb").write(kz)
open(os.path.join(out, "diskdump", "seed-mixed.kdump"), "wb").write(kdump(lambda i: "zlib" if i % 2 else "raw"))
fl = bytearray(4096); fl[:12] = b"makedumpfile"; struct.pack_into(">qq", fl, 16, 1, 1)
pos = 0
while pos < len(kz):
    n = min(4096 + 7 * (pos // 4096 % 3), len(kz) - pos)
    fl += struct.pack(">qq", pos, n) + kz[pos:pos + n]; pos += n
fl += struct.pack(">qq", -1, -1)
open(os.path.join(out, "flattened", "seed.flat"), "wb").write(bytes(fl))
