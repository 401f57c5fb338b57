#!/usr/bin/env bash
# CI of the TypeScript client: a clean install from package-lock.json, then
# the tests against a real contactsd (built with `go build` unless
# CONTACTSD_BIN names one), including the README's steps (npm pack, install
# of the tarball in a project outside the repository, example.ts). Needs
# Node.js 20+, npm (the registry, for that project's install) and Go.
set -euo pipefail
cd "$(dirname "$0")"

node --version
npm --version
npm ci --no-audit --no-fund
npm test
