#!/usr/bin/env bash
# Smoke run of the nightly command on demo-sized data (issue 5): synth, import, run each date.
set -euo pipefail
BIN=${BIN:-.venv/bin}
work=$(mktemp -d /tmp/huifang-nightly-XXXXXX)
export HUIFANG_DATA_DIR=$work/data
$BIN/huifang migrate --noinput -v0
$BIN/huifang synth --clients 20000 --branches 12 --days 5 --start 2026-10-19 --seed 20261012 "$work/feeds" 2>/dev/null
for dir in "$work"/feeds/feed-*; do
  day=${dir##*/feed-}
  HUIFANG_TODAY=$day $BIN/huifang run --date "$day" --feeds "$dir" > "$work/run-$day.log"
  tail -n 1 "$work/run-$day.log"
done
# a second run of the last date must create nothing
HUIFANG_TODAY=$day $BIN/huifang run --date "$day" | grep -q "nothing to do"
$BIN/huifang audit verify
rm -rf "$work"
echo "nightly smoke: ok"
