#!/usr/bin/env bash
# Runs every check and test, then prints one summary line. Exits non-zero if anything
# failed. `.ci/test.sh lint` runs only the formatting and lint checks.
#
# Storage tests run on SQLite and on PostgreSQL (IMPORTOPS_TEST_POSTGRES_URL, default the
# local server). When PostgreSQL is unreachable the PostgreSQL half is reported as
# skipped, except under CI (CI=true), where it counts as a failure.
#
# Each long step runs under a time limit, so a hung step fails on its own instead of
# using up CI's budget, and the "Checks:" line gives every step's wall-clock time.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export RUST_BACKTRACE=0
export IMPORTOPS_TEST_POSTGRES_URL=${IMPORTOPS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

# Time limits. The cargo test ones include compiling the tests on a cold machine.
LINT_LIMIT=20m
RUST_TESTS_LIMIT=25m
RELEASE_BUILD_LIMIT=30m
E2E_LIMIT=15m

mode=${1:-all}
passed=0
failed=0
skipped=0
notes=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }

# Runs a command under a time limit: TERM when the limit is reached, KILL 30 s later.
# timeout gives the command a process group of its own so that it can stop all of it
# (cargo's test binaries, Playwright's server and browser); that group no longer gets the
# terminal's Ctrl-C, so it is passed on from here, and the script stops.
limited() {
  local limit=$1 pid status interrupted=
  shift
  timeout --kill-after=30s "$limit" "$@" &
  pid=$!
  trap 'interrupted=1; kill -INT "$pid" 2>/dev/null' INT
  wait "$pid"
  status=$?
  # A Ctrl-C ends the first wait early; wait again until the command has stopped.
  while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    status=$?
  done
  trap 'exit 130' INT
  [ -z "$interrupted" ] || exit 130
  return "$status"
}

# 124 is timeout's own status; 137 means the command ignored TERM and was killed.
timed_out() { [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; }

# Wall-clock time since $1 (a value of $SECONDS), as "3m07s".
took() {
  local s=$((SECONDS - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# Runs one pass/fail check: `check NAME LIMIT COMMAND...`.
check() {
  local name=$1 limit=$2
  shift 2
  say "$name"
  local start=$SECONDS status=0
  limited "$limit" "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    notes+=("$name ok ($(took "$start"))")
  else
    timed_out "$status" && name="$name timed out after $limit:"
    notes+=("$name FAILED ($(took "$start"))")
    failed=$((failed + 1))
  fi
}

# Adds up the counts of the "test result:" lines in a cargo test log; sets log_passed
# and log_failed. Only those lines count, so test output mentioning "3 failed" does not.
count_rust() {
  local log=$1
  log_passed=$(grep '^test result:' "$log" | grep -Eo '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
  log_failed=$(grep '^test result:' "$log" | grep -Eo '[0-9]+ failed' | awk '{s += $1} END {print s + 0}')
}

# Runs one cargo test command, adding its counts to the totals. --no-fail-fast (given by
# the caller) lets every test binary run even when an earlier one fails. A non-zero
# status that no failed test explains (a build error, a crashed test binary, a timeout)
# counts as one more failure.
rust_tests() {
  local name=$1
  shift
  say "$name"
  local log="$logs/$name.log" start=$SECONDS
  limited "$RUST_TESTS_LIMIT" "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  count_rust "$log"
  passed=$((passed + log_passed))
  failed=$((failed + log_failed))
  local note="$name: $log_passed passed, $log_failed failed"
  if [ "$status" -ne 0 ] && [ "$log_failed" -eq 0 ]; then
    failed=$((failed + 1))
    if timed_out "$status"; then
      note="$note, timed out after $RUST_TESTS_LIMIT"
    elif ! grep -q '^test result:' "$log"; then
      note="$note, did not build"
    else
      note="$note, cargo exited with status $status (a test binary crashed?)"
    fi
  fi
  notes+=("$note ($(took "$start"))")
}

# Joins the arguments after the first with the first: `join ", " a b` prints "a, b".
join() {
  local sep=$1 out=${2-} part
  shift 2 || return 0
  for part in "$@"; do out+="$sep$part"; done
  printf '%s' "$out"
}

finish() {
  echo
  echo "Checks: $(join '; ' "${notes[@]}")"
  echo "SUMMARY: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
  exit
}

check "cargo fmt" "$LINT_LIMIT" cargo fmt --all -- --check
check "cargo clippy (server side)" "$LINT_LIMIT" \
  cargo clippy -p app -p server -p migrations --all-targets --features app/testing -- -D warnings
check "cargo clippy (browser side)" "$LINT_LIMIT" \
  cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

[ "$mode" = lint ] && finish

# Dependency policy from deny.toml: allowed licenses, crates.io as the only source, no
# wildcard versions. Advisories are not checked: the RustSec database is fetched from
# GitHub, which this network cannot reach. Nothing else here needs the network beyond
# crates.io (no --offline: a fresh machine may still lack other platforms' crates, which
# the graph includes).
check "cargo deny (bans, licenses, sources; advisories skipped: no RustSec database here)" \
  "$LINT_LIMIT" cargo deny --locked check bans licenses sources

# PostgreSQL: run its half, or report it skipped. A real query, not pg_isready, so a
# refused login counts as unreachable too.
skip_args=()
if ! pg_error=$(PGCONNECT_TIMEOUT=5 psql "$IMPORTOPS_TEST_POSTGRES_URL" -Atc 'select 1' 2>&1 >/dev/null); then
  if in_ci; then
    say "PostgreSQL is unreachable at $IMPORTOPS_TEST_POSTGRES_URL: $pg_error"
    notes+=("PostgreSQL unreachable")
    failed=$((failed + 1))
  else
    say "PostgreSQL is unreachable at $IMPORTOPS_TEST_POSTGRES_URL ($pg_error): skipping its half"
    skip_args=(--skip postgres::)
    n=$( (limited "$RUST_TESTS_LIMIT" cargo test -p app --features testing -- --list
      limited "$RUST_TESTS_LIMIT" cargo test -p server -- --list) 2>/dev/null |
      grep -c '^postgres::.*: test$\|::postgres::.*: test$')
    skipped=$((skipped + n))
    notes+=("PostgreSQL skipped")
  fi
fi

rust_tests "app tests" cargo test -p app --features testing --no-fail-fast -- "${skip_args[@]}"
rust_tests "server tests" cargo test -p server --no-fail-fast -- "${skip_args[@]}"

# End to end: a release build on a temporary database, in Debian's Chromium.
say "release build"
start=$SECONDS
status=0
limited "$RELEASE_BUILD_LIMIT" cargo leptos build --release || status=$?
if [ "$status" -ne 0 ]; then
  failed=$((failed + 1))
  if timed_out "$status"; then
    notes+=("release build timed out after $RELEASE_BUILD_LIMIT ($(took "$start"))")
  else
    notes+=("release build FAILED ($(took "$start"))")
  fi
  finish
fi
notes+=("release build ok ($(took "$start"))")

say "end-to-end tests"
start=$SECONDS
e2e_data=$(mktemp -d)
results=end2end/test-results/results.json
rm -f "$results" # a report left from an earlier run must not count as this one
status=0
(cd end2end && E2E_DATA_DIR="$e2e_data" limited "$E2E_LIMIT" npx playwright test) || status=$?
rm -rf "$e2e_data"

# Playwright's status alone hides the counts, and its report alone misses a web server
# that never started or a global setup that threw (no test fails, stats stay at zero):
# use both.
if [ -f "$results" ] && report=$(node -e '
    const r = require(process.argv[1]);
    const s = r.stats;
    console.log(s.expected + s.flaky, s.unexpected, s.skipped, (r.errors || []).length);' \
    "$PWD/$results"); then
  read -r p f s e <<<"$report"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  note="end-to-end: $p passed, $f failed"
  problems=()
  [ "$e" -gt 0 ] && problems+=("$e error(s) outside tests")
  [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && problems+=("no test ran")
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    if timed_out "$status"; then
      problems+=("timed out after $E2E_LIMIT")
    else
      problems+=("playwright exited with status $status")
    fi
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    failed=$((failed + 1))
    note="$note, $(join ', ' "${problems[@]}")"
  fi
else
  failed=$((failed + 1))
  note="end-to-end did not run (playwright exited with status $status, no readable report)"
fi
notes+=("$note ($(took "$start"))")

finish
