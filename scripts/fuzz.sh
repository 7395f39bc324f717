#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s):
# the image decoder, EXIF, templates, gallery shards, capture containers,
# the JSON and multipart request parsers, and the liveness inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
for file in $(grep -rl --include='*_test.go' '^func Fuzz' internal); do
	pkg=./$(dirname "$file")
	for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz $pkg $fn ($fuzztime)"
		go test -run='^$' -fuzz="^$fn\$" -fuzztime="$fuzztime" "$pkg"
	done
done
