#!/usr/bin/env bash
# Stops the servers scripts/localaws/start.sh started (by the PIDs it wrote).
# Servers it merely reused are left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${FACELAMBDA_TOOLS_DIR:-$root/.tools}/localaws"

for name in dynamodb s3; do
	pidfile="$state/$name.pid"
	[[ -f "$pidfile" ]] || continue
	pid="$(cat "$pidfile")"
	if kill -0 "$pid" 2>/dev/null; then
		echo "localaws: stopping $name (pid $pid)" >&2
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
done
rm -f "$state/env"
