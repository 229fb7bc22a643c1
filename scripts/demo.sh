#!/usr/bin/env bash
# Set up and serve the demo brokerage (called by `make demo`).
set -euo pipefail
export HUIFANG_DATA_DIR=${HUIFANG_DATA_DIR:-var/demo}
export HUIFANG_DEMO=1
BIN=.venv/bin
FEEDS=${DEMO_FEEDS:-var/demo-feeds}
START=${DEMO_START:-2026-10-12}
DAYS=${DEMO_DAYS:-10}

echo "== huifang demo: data in $HUIFANG_DATA_DIR (SQLite)"
$BIN/huifang migrate --noinput -v0
if [ ! -f "$FEEDS/.complete" ]; then
  rm -rf "$FEEDS"
  echo "== generating the demo brokerage (20,000 clients, 12 branches, $DAYS business days)"
  $BIN/huifang synth --clients 20000 --branches 12 --days "$DAYS" --start "$START" --seed 20261012 "$FEEDS"
  touch "$FEEDS/.complete"
fi
last=""
for dir in "$FEEDS"/feed-*; do
  day=${dir##*/feed-}
  echo "== importing $day"
  $BIN/huifang import "$dir" --date "$day" --quiet
  last=$day
done
export HUIFANG_TODAY=$last
echo "$last" > "$HUIFANG_DATA_DIR/demo-today"
$BIN/huifang demo_users --password huifang-demo-2026
echo
echo "== serving on http://127.0.0.1:8000/  (today is pinned to $last, the last demo business date)"
exec $BIN/huifang runserver 127.0.0.1:8000 --noreload
