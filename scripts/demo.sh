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
  $BIN/huifang synth --clients 20000 --branches 12 --days "$DAYS" --start "$START" --seed 20261012 \
    --snapshots 2025-12-31,2026-09-30 "$FEEDS"
  touch "$FEEDS/.complete"
fi
dirs=("$FEEDS"/feed-*)
first=${dirs[0]##*/feed-}
echo "== importing $first and the period-end assets snapshots"
$BIN/huifang import "${dirs[0]}" --date "$first" --quiet
for dir in "$FEEDS"/snapshot-*; do
  $BIN/huifang import "$dir" --date "${dir##*/snapshot-}" --quiet
done
echo "== annual rating on the 2025 year-end snapshot (CLS-2; outside its window, so it warns)"
HUIFANG_TODAY=$first $BIN/huifang classify --date "$first" --kind annual 2>/dev/null
last=""
for dir in "${dirs[@]}"; do
  day=${dir##*/feed-}
  echo "== nightly run $day"
  feeds=(--feeds "$dir"); [ "$day" = "$first" ] && feeds=()
  log="$HUIFANG_DATA_DIR/run-$day.log"
  HUIFANG_TODAY=$day $BIN/huifang run --date "$day" "${feeds[@]}" > "$log" || { cat "$log"; exit 1; }
  grep -E "^(assignment|overdue):" "$log" || true
  last=$day
done
export HUIFANG_TODAY=$last
echo "$last" > "$HUIFANG_DATA_DIR/demo-today"
$BIN/huifang demo_users --password huifang-demo-2026
echo "== worked callbacks: attempts, recordings, answers, signatures, reviews (issue 7)"
$BIN/huifang demo_callbacks --count 24
echo "== problems and complaints routed to departments, on their clocks (issue 8)"
$BIN/huifang demo_issues
echo "== special callbacks and plans ordered by departments (SPC-1, PLAN-1, MRG-8)"
$BIN/huifang demo_orders
echo "== monthly closing and branch evaluation (REV-3, REV-4)"
$BIN/huifang demo_evaluation
# The workbench honours the call hours (CON-5): the demo's clock starts at 10:00 of that day.
export HUIFANG_NOW="${last}T10:00"
echo
echo "== serving on http://127.0.0.1:8000/  (the clock starts at $HUIFANG_NOW, the last demo business date)"
exec $BIN/huifang runserver 127.0.0.1:8000 --noreload
