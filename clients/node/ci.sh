#!/usr/bin/env bash
# CI of the Node.js client: a clean install from package-lock.json, then the
# end-to-end tests against a real contactsd (built with `go build` unless
# CONTACTSD_BIN names one). Needs Node.js 20+, npm and Go.
set -euo pipefail
cd "$(dirname "$0")"

node --version
npm --version
npm ci --no-audit --no-fund
npm test
