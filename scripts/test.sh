#!/usr/bin/env bash
# `make test`: lint, types, Django checks, the suite on SQLite and on PostgreSQL,
# the browser tests and the benchmarks' smoke sizes. On a plain machine the parts
# that cannot run are skipped and named; with CI=true nothing may be skipped.
set -uo pipefail
BIN=.venv/bin
CI=${CI:-false}
mkdir -p artifacts
skipped=()
failed=()
step() { echo; echo "== $*"; }
run() { "$@" || failed+=("$*"); }

export HUIFANG_DATA_DIR=$(mktemp -d /tmp/huifang-check-XXXXXX)
step "lint and types"
run $BIN/ruff check .
run $BIN/ruff format --check .
run $BIN/mypy
run $BIN/huifang check
run $BIN/huifang makemigrations --check --dry-run
rm -rf "$HUIFANG_DATA_DIR"
[ "${1:-}" = "--lint-only" ] && { [ ${#failed[@]} -eq 0 ] && exit 0 || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }; }

PG_URL=${HUIFANG_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
pg_ok() { $BIN/python -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$PG_URL" 2>/dev/null; }
if ! pg_ok && [ "$CI" = "true" ] && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  sleep 2
fi
have_pg=false; pg_ok && have_pg=true
have_browser=false; [ -x "${HUIFANG_CHROMIUM:-/usr/bin/chromium}" ] && have_browser=true

markers=()
if [ "$have_browser" = false ]; then
  [ "$CI" = "true" ] && failed+=("Chromium is required in CI (/usr/bin/chromium)")
  skipped+=("browser tests (no Chromium: apt-get install chromium fonts-noto-cjk)")
  markers=(-m "not browser")
fi

step "tests on SQLite"
run $BIN/pytest -q -p no:randomly "${markers[@]}" --junitxml=artifacts/junit-sqlite.xml
if [ "$have_pg" = true ]; then
  step "tests on PostgreSQL"
  HUIFANG_TEST_DATABASE=postgres HUIFANG_TEST_PG_URL=$PG_URL \
    run $BIN/pytest -q "${markers[@]}" --junitxml=artifacts/junit-postgres.xml
else
  [ "$CI" = "true" ] && failed+=("PostgreSQL is required in CI ($PG_URL unreachable)")
  skipped+=("PostgreSQL tests and benchmarks ($PG_URL unreachable)")
fi

step "nightly run on demo-sized data (SQLite)"
run bash scripts/nightly_smoke.sh

step "benchmarks (smoke size)"
for bench in bench/*_bench.py bench/workbench_load.py bench/workbench_profile.py; do
  [ -e "$bench" ] || continue
  run $BIN/python "$bench" --smoke --database sqlite
  if [ "$have_pg" = true ]; then run $BIN/python "$bench" --smoke --database postgres; fi
done

echo
$BIN/python scripts/junit_summary.py artifacts/junit-*.xml
for s in "${skipped[@]}"; do echo "SKIPPED: $s"; done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
exit 0
