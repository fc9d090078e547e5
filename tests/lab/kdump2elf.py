#!/usr/bin/env python3
"""QEMU kdump-compressed dump -> sparse ELF core, for makedumpfile's input on guests too big for
QEMU's own ELF dump (the seed-machine scenario: 128 GiB, an ELF that QEMU would write in full).

makedumpfile reads ELF (or /proc/vmcore) only. QEMU's kdump-zlib stores every page that is not all
zero (zero pages share one stored page), so the ELF written here holds those pages at their file
offsets and leaves every zero page a hole: the file's apparent size is the guest's memory, its
disk use what the guest touched. Caller deletes it when makedumpfile is done.

Layout read (makedumpfile's diskdump_mod.h, QEMU's dump.c): block 0 disk_dump_header (block_size at
428, sub_hdr_size 432, bitmap_blocks 436, max_mapnr 440), block 1 kdump_sub_header (offset_note at
48, size_note 56, max_mapnr_64 96 in version 6), then the bitmaps (1st half: page exists; 2nd: page
dumped), then one 24-byte page_desc (i64 offset, u32 size, u32 flags, u64 page_flags) per dumped
page in pfn order. One PT_LOAD per run of existing pages (p_vaddr 0, as QEMU writes without paging).
"""
import os
import re
import struct
import sys
import zlib

PAGE = 4096
ZLIB = 1


def runs_of(bm, limit):
    """[(first_pfn, count)] of the runs of set bits of bitmap `bm` (LSB first), below `limit`."""
    out = []

    def add(p, n):
        if out and out[-1][0] + out[-1][1] == p:
            out[-1] = (out[-1][0], out[-1][1] + n)
        else:
            out.append((p, n))
    for m in re.finditer(rb'\xff+|[^\x00\xff]', bm):
        s, e = m.span()
        if bm[s] == 0xff:
            add(s * 8, (e - s) * 8)
        else:
            for b in range(8):
                if bm[s] >> b & 1:
                    add(s * 8 + b, 1)
    clipped = []
    for p, n in out:
        if p < limit:
            clipped.append((p, min(n, limit - p)))
    return clipped


def convert(src, dst):
    """Writes the sparse ELF `dst` from `src`; returns (pages written, pages left as holes)."""
    f = open(src, 'rb')
    h = f.read(464)
    if h[:8] != b'KDUMP   ':
        raise SystemExit(f'{src}: not a kdump-compressed dump')
    version, = struct.unpack_from('<i', h, 8)
    bs, sub_blocks, bitmap_blocks, max_mapnr = struct.unpack_from('<iiiI', h, 428)
    if bs != PAGE:
        raise SystemExit(f'{src}: block size {bs}, want {PAGE}')
    f.seek(bs)
    sub = f.read(104)
    off_note, size_note = struct.unpack_from('<qQ', sub, 48)
    if version >= 6:
        m64, = struct.unpack_from('<Q', sub, 96)
        max_mapnr = m64 or max_mapnr
    f.seek(off_note)
    notes = f.read(size_note)
    half = bitmap_blocks * bs // 2
    f.seek((1 + sub_blocks) * bs)
    bm1 = f.read(half)
    bm2 = f.read(half)
    present = runs_of(bm1, max_mapnr)
    dumped = runs_of(bm2, max_mapnr)
    desc_off = (1 + sub_blocks + bitmap_blocks) * bs
    # ELF header, PT_NOTE, one PT_LOAD per run of existing pages; data page aligned after them.
    nph = 1 + len(present)
    hdr_end = 64 + 56 * nph
    note_off = hdr_end
    data0 = (note_off + len(notes) + PAGE - 1) // PAGE * PAGE
    file_of = []               # (first_pfn, count, file offset)
    pos = data0
    for p, n in present:
        file_of.append((p, n, pos))
        pos += n * PAGE
    total = pos
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        eh = (b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8) +
              struct.pack('<HHIQQQIHHHHHH', 4, 62, 1, 0, 64, 0, 0, 64, 56, nph, 64, 0, 0))
        ph = struct.pack('<IIQQQQQQ', 4, 0, note_off, 0, 0, len(notes), len(notes), 0)
        for p, n, o in file_of:
            ph += struct.pack('<IIQQQQQQ', 1, 7, o, 0, p * PAGE, n * PAGE, n * PAGE, 0)
        os.pwrite(out, eh + ph, 0)
        os.pwrite(out, notes, note_off)
        os.ftruncate(out, total)
        seg = 0

        def where(pfn):
            nonlocal seg
            while seg < len(file_of) and file_of[seg][0] + file_of[seg][1] <= pfn:
                seg += 1
            if seg < len(file_of) and file_of[seg][0] <= pfn:
                return file_of[seg][2] + (pfn - file_of[seg][0]) * PAGE
            return None

        # The descriptor every zero page shares: the most common one, if its page is all zero.
        f.seek(desc_off)
        head = f.read(24 * 4096)
        recs = [head[i:i + 24] for i in range(0, len(head) - 23, 24)]
        zero_rec = max(set(recs), key=recs.count) if recs else None

        def page_of(rec):
            o, size, flags, _ = struct.unpack('<qIIQ', rec)
            f.seek(o)
            b = f.read(size)
            if flags & ZLIB:
                return zlib.decompress(b)
            if flags == 0 and size == PAGE:
                return b
            raise SystemExit(f'{src}: page codec flags {flags:#x} not handled (zlib or raw only)')
        if zero_rec is not None and page_of(zero_rec) != bytes(PAGE):
            zero_rec = None
        written = holes = 0
        idx = 0                # descriptor index = rank among dumped pages
        CH = 65536
        for p, n in dumped:
            done = 0
            while done < n:
                k = min(CH, n - done)
                f.seek(desc_off + 24 * (idx + done))
                chunk = f.read(24 * k)
                if zero_rec is not None and chunk == zero_rec * k:
                    holes += k
                else:
                    for j in range(k):
                        rec = chunk[24 * j:24 * j + 24]
                        if rec == zero_rec:
                            holes += 1
                            continue
                        data = page_of(rec)
                        fo = where(p + done + j)
                        if fo is None or len(data) != PAGE:
                            raise SystemExit(f'{src}: pfn {p + done + j:#x} outside the present ranges')
                        if data != bytes(PAGE):
                            os.pwrite(out, data, fo)
                            written += 1
                        else:
                            holes += 1
                done += k
            idx += n
    finally:
        os.close(out)
    return written, holes


if __name__ == '__main__':
    w, z = convert(sys.argv[1], sys.argv[2])
    print(f'{w} pages written, {z} zero pages left as holes', file=sys.stderr)
