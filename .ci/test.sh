#!/usr/bin/env bash
# Runs every check and test, then prints one summary line. Exits non-zero if anything
# failed. `.ci/test.sh lint` runs only the formatting and lint checks.
#
# Storage tests run on SQLite and on PostgreSQL (IMPORTOPS_TEST_POSTGRES_URL, default the
# local server). When PostgreSQL is unreachable the PostgreSQL half is reported as
# skipped, except under CI (CI=true), where it counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export RUST_BACKTRACE=0
export IMPORTOPS_TEST_POSTGRES_URL=${IMPORTOPS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

mode=${1:-all}
passed=0
failed=0
skipped=0
notes=()
logs=$(mktemp -d)

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }

check() {
  local name=$1
  shift
  say "$name"
  if "$@"; then
    notes+=("$name ok")
  else
    notes+=("$name FAILED")
    failed=$((failed + 1))
  fi
}

# Adds the counts of every "test result:" line in a cargo test log.
count_rust() {
  local log=$1 p f
  p=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
  f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
  passed=$((passed + p))
  failed=$((failed + f))
}

rust_tests() {
  local name=$1
  shift
  say "$name"
  local log="$logs/$name.log"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  count_rust "$log"
  if [ "$status" -ne 0 ] && ! grep -q 'test result:' "$log"; then
    failed=$((failed + 1)) # did not even build
    notes+=("$name did not build")
  fi
}

check "cargo fmt" cargo fmt --all -- --check
check "cargo clippy (server side)" \
  cargo clippy -p app -p server -p migrations --all-targets --features app/testing -- -D warnings
check "cargo clippy (browser side)" \
  cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

if [ "$mode" = lint ]; then
  echo
  details=$(IFS=';'; echo "${notes[*]}" | sed 's/;/; /g')
  echo "SUMMARY: $details"
  [ "$failed" -eq 0 ]
  exit
fi

# PostgreSQL: run its half, or report it skipped.
skip_args=()
if ! pg_isready -q -d "$IMPORTOPS_TEST_POSTGRES_URL" 2>/dev/null; then
  if in_ci; then
    notes+=("PostgreSQL unreachable")
    failed=$((failed + 1))
  else
    say "PostgreSQL is unreachable at $IMPORTOPS_TEST_POSTGRES_URL: skipping its half"
    skip_args=(--skip postgres::)
    n=$( (cargo test -p app --features testing -- --list; cargo test -p server -- --list) 2>/dev/null |
      grep -c '^postgres::.*: test$\|::postgres::.*: test$')
    skipped=$((skipped + n))
    notes+=("PostgreSQL skipped")
  fi
fi

rust_tests "app tests" cargo test -p app --features testing -- "${skip_args[@]}"
rust_tests "server tests" cargo test -p server -- "${skip_args[@]}"

# End to end: a release build on a temporary database, in Debian's Chromium.
say "release build"
if cargo leptos build --release; then
  say "end-to-end tests"
  e2e_data=$(mktemp -d)
  (cd end2end && E2E_DATA_DIR="$e2e_data" npx playwright test)
  results=end2end/test-results/results.json
  if [ -f "$results" ]; then
    read -r p f s < <(node -e '
      const s = require(process.argv[1]).stats;
      console.log(s.expected + s.flaky, s.unexpected, s.skipped);' "$PWD/$results")
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    notes+=("end-to-end: $p passed, $f failed")
  else
    failed=$((failed + 1))
    notes+=("end-to-end did not run")
  fi
  rm -rf "$e2e_data"
else
  failed=$((failed + 1))
  notes+=("release build FAILED")
fi

echo
details=$(IFS=';'; echo "${notes[*]}" | sed 's/;/; /g')
echo "Checks: $details"
echo "SUMMARY: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
