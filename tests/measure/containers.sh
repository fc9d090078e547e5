#!/bin/bash
# Measures `crashlens info` and `crashlens report` per container: bytes read (page-cache stats),
# peak RSS (/usr/bin/time -v) and wall time. usage: containers.sh BINARY NAME=FILE[,FILE...] ...
# Prints one markdown table row per container and command.
BIN=$1; shift
echo "| container | command | bytes read | file bytes | peak RSS (MiB) | time (s) |"
echo "|---|---|---:|---:|---:|---:|"
for spec in "$@"; do
  name=${spec%%=*}; files=${spec#*=}; IFS=, read -ra F <<< "$files"
  size=$(stat -c %s "${F[@]}" | paste -sd+ | bc)
  for cmd in info report; do
    out=$(mktemp); tv=$(mktemp)
    /usr/bin/time -v "$BIN" $cmd --format json "${F[@]}" > "$out" 2> "$tv"
    rc=$?
    rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' "$tv")
    wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$tv" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    bytes=$(python3 -c "import json,sys; d=json.load(open('$out')); c=d.get('cache') or d['dump']['cache']; print(c['bytes_read'])" 2>/dev/null || echo "exit $rc")
    echo "| $name | $cmd | $bytes | $size | $rss | $wall |"
    rm -f "$out" "$tv"
  done
done
