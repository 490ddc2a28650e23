# The two commands a newcomer needs:
#   make run    set up, build and serve ImportOps on the embedded SQLite database
#   make test   set up and run every test, then print a one-line summary
#
# Everything else here is a building block of those two.

SHELL := /bin/bash
# Tools from npm (wasm-opt) come before any system copy.
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test tools test-tools build e2e fmt lint

run: tools build
	./target/release/importops serve

test: test-tools
	./.ci/test.sh

tools:
	./.ci/tools.sh build

test-tools:
	./.ci/tools.sh test

# The release server binary and the browser bundle (target/site).
build:
	cargo leptos build --release

fmt:
	cargo fmt --all

lint:
	./.ci/test.sh lint
