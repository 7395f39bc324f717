#!/usr/bin/env bash
# Stops the servers scripts/localaws/start.sh started, by the PIDs it wrote
# to <tools>/localaws/*.pid (FACELAMBDA_TOOLS_DIR, default <repo>/.tools).
# Servers it merely reused are left alone, and so is a PID that no longer
# belongs to DynamoDB Local or moto.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${FACELAMBDA_TOOLS_DIR:-$root/.tools}/localaws"

shopt -s nullglob
for pidfile in "$state"/*.pid; do
	pid="$(cat "$pidfile")"
	name="$(basename "$pidfile" .pid)"
	cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
	if [[ "$cmd" == *DynamoDBLocal.jar* || "$cmd" == *moto.server* ]]; then
		echo "localaws: stopping $name (pid $pid)" >&2
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
done
rm -f "$state/env"
