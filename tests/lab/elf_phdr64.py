#!/usr/bin/env python3
"""Copy an ELF64 vmcore so that its program headers sit right after the ELF header (e_phoff = 64).

QEMU >= 7.1 writes `dump-guest-memory` ELF files with section headers first (e_phoff = 192 here);
makedumpfile 1.7.2 reads program headers at offset 64 regardless of e_phoff.  The copy keeps every
segment byte where it was (p_offset unchanged); only the header area is rewritten and the section
headers (which QEMU only uses for PN_XNUM overflow) are dropped, so this refuses files with
e_phnum == 0xffff.   usage: elf_phdr64.py IN OUT
"""
import shutil, struct, sys


def main(src, dst):
    with open(src, 'rb') as f:
        eh = f.read(64)
        if eh[:4] != b'\x7fELF' or eh[4] != 2 or eh[5] != 1:
            raise SystemExit(f'{src}: not a little-endian ELF64 file')
        phoff, shoff = struct.unpack_from('<QQ', eh, 0x20)
        phentsize, phnum = struct.unpack_from('<HH', eh, 0x36)
        if phnum == 0xffff or phentsize != 56:
            raise SystemExit(f'{src}: PN_XNUM or odd phentsize ({phnum}, {phentsize}) not supported')
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    offs = [struct.unpack_from('<Q', ph, i * 56 + 8)[0] for i in range(phnum)]
    sizes = [struct.unpack_from('<Q', ph, i * 56 + 32)[0] for i in range(phnum)]
    first = min(o for o, s in zip(offs, sizes) if s) if any(sizes) else 64 + len(ph)
    if 64 + len(ph) > first:
        raise SystemExit(f'{src}: no room for {phnum} program headers before the first segment at {first}')
    shutil.copyfile(src, dst)
    hdr = bytearray(eh)
    struct.pack_into('<QQ', hdr, 0x20, 64, 0)      # e_phoff, e_shoff
    struct.pack_into('<HHH', hdr, 0x3a, 0, 0, 0)    # e_shentsize, e_shnum, e_shstrndx
    with open(dst, 'r+b') as f:
        f.write(bytes(hdr) + ph)
        gap = (first - (64 + len(ph))) if phoff != 64 else 0
        if gap and phoff < first:
            # the old header area (section headers / old phdr copy) between the new phdrs and the
            # first segment is no longer referenced; zero it so nothing stale is left there
            f.write(b'\0' * min(gap, max(0, phoff + len(ph) - (64 + len(ph)))))
    print(f'{dst}: e_phoff {phoff} -> 64, e_shoff {shoff} -> 0, {phnum} program headers')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
