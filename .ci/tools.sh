#!/usr/bin/env bash
# Installs what building and testing ImportOps needs, skipping whatever is already there,
# so a warm machine is ready in seconds. Everything comes from package registries
# (crates.io, npm, Debian); nothing is downloaded from anywhere else.
#
#   .ci/tools.sh build   the Rust toolchain pieces, cargo-leptos, wasm-bindgen, wasm-opt
#   .ci/tools.sh test    the above, plus rustfmt, clippy, cargo-deny, Chromium, the
#                        end-to-end packages and psql
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
CARGO_LEPTOS_VERSION=0.3.10
# Pinned so a release that needs a newer rustc cannot break a fresh machine.
CARGO_DENY_VERSION=0.20.2

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

apt_install() {
  say "installing $* from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Rust side -------------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 18 minutes the first time)"
  # no_downloads: cargo-leptos must use the tools installed here, never fetch its own.
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# wasm-bindgen's command-line tool must match the library version in Cargo.lock exactly.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (about 3 minutes)"
  # Without --locked: its own lock file pins a crate this registry does not carry.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# --- Node side -------------------------------------------------------------------------
if ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

# wasm-opt comes from npm's binaryen: Debian's older build breaks hydration.
if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing build tools from npm (binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
fi

[ "$mode" = test ] || exit 0

# --- Test side -------------------------------------------------------------------------
# A minimal rustup profile comes without rustfmt and clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  say "adding rustfmt and clippy"
  rustup component add rustfmt clippy
fi

# An installed cargo-deny is left alone: any recent one reads deny.toml.
if ! cargo deny --version >/dev/null 2>&1; then
  say "installing cargo-deny $CARGO_DENY_VERSION (about 3.5 minutes the first time)"
  cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
fi

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
# The tests' PostgreSQL check runs a query with psql.
if ! command -v psql >/dev/null; then
  apt_install postgresql-client
fi
if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing the end-to-end test packages from npm"
  # Playwright's browsers are never downloaded: the tests use Debian's Chromium.
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
