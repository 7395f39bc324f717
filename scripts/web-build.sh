#!/usr/bin/env bash
# web-build.sh OUTDIR: compiles the browser liveness client (web/src/*.ts)
# into OUTDIR/liveness.js with the esbuild pinned in go.mod (go tool
# esbuild: no npm). `make web` writes web/dist; web/web_test.go checks the
# committed output against a fresh build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/web-build.sh OUTDIR}
mkdir -p "$out"
exec ${GO:-go} tool esbuild web/src/liveness.ts --bundle --format=esm --target=es2020 \
	--charset=utf8 --legal-comments=none --log-level=warning --outfile="$out/liveness.js"
