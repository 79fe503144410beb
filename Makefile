# The two commands of the quick start (README): `make up` and `make test`.
# Each runs scripts/setup.sh first, which installs what a fresh machine lacks.
SHELL := /bin/bash
NODE_ENV_SH := . scripts/node-env.sh

.PHONY: setup up test test-unit lint bench

setup:
	@scripts/setup.sh

## The control plane with agents and a working fleet on local defaults (Ctrl-C stops it).
up: setup
	@$(NODE_ENV_SH) && node scripts/quickstart.ts

## Everything CI runs: lint, typecheck, the protocol checks, unit and end-to-end tests.
test: setup
	@$(NODE_ENV_SH) && npm test

## Only the pure unit tests (no servers needed): Node 24 and npm ci, no Go, Debian packages or root.
test-unit:
	@scripts/setup.sh --node && $(NODE_ENV_SH) && npm run test:unit
