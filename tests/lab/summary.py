#!/usr/bin/env python3
"""Markdown table of the lab's built scenarios (timings from run.json, sizes, what crashed).
usage: summary.py [CACHE]   (default $CRASHLENS_LAB_CACHE or ~/.cache/crashlens/lab)"""
import json, os, sys
cache = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    os.environ.get('CRASHLENS_LAB_CACHE') or '~/.cache/crashlens/lab')
print('| scenario | boot→panic s | guest+dumps s | makedumpfile+facts s | total s | vmcore.elf bytes | d31-zlib bytes | first report line |')
print('|---|---|---|---|---|---|---|---|')
for n in sorted(os.listdir(cache)):
    d = os.path.join(cache, n)
    if n.startswith(('.', '_')) or not os.path.exists(os.path.join(d, 'run.json')):
        continue
    r = json.load(open(os.path.join(d, 'run.json')))
    f = json.load(open(os.path.join(d, 'facts.json')))
    t = r['timings_s']
    panic = r.get('boot_to_panic_s') or r.get('marks_s', {}).get('triggering crash', '')
    z = r.get('files', {}).get('vmcore.d31-zlib.kdump', '')
    line = f['panic_message_first_line']
    line = line if len(line) < 70 else line[:67] + '...'
    print(f"| `{n}` | {panic} | {t['guest_and_dump']} | {t['makedumpfile_and_facts']} | {t['total']} | "
          f"{r['files'].get('vmcore.elf', '')} | {z} | `{line}` |")
