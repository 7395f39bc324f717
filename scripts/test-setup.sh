#!/usr/bin/env bash
# Tests of the install steps on the path where the thing is missing, without
# network and without changing the machine: apt-get, sudo and id are replaced
# by recording fakes, tools are hidden by a PATH that lacks them, and the
# libjpeg-turbo check of `make deps` points at an empty prefix.
# Needs `make layers` first (fetch.sh runs from its cache). Run by `make test`.
set -uo pipefail
# Run from make test: the nested make calls start from a clean slate.
unset MAKEFLAGS MFLAGS MAKELEVEL
# The browser test's overrides would hide the missing commands of e2e-deps.
unset FACELAMBDA_CHROMIUM FACELAMBDA_FFMPEG
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; sed 's/^/     | /' "$tmp/out"; fails=$((fails + 1)); }

# path_without DIR NAME...: a PATH (one directory, DIR) holding links to every
# command on $PATH except the names given (globs), as a machine without them.
all="$tmp/all-commands"
mkdir -p "$all"
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
	for f in "$d"/*; do
		[ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$all/${f##*/}" ] && ln -s "$f" "$all/${f##*/}"
	done
done
path_without() {
	local dir="$1" pat
	shift
	cp -a "$all" "$dir"
	for pat in "$@"; do
		rm -f "$dir"/$pat
	done
}

# fakes DIR: apt-get, sudo and id that record their calls in $tmp/calls; the
# fake apt-get "installs" libturbojpeg0-dev by creating its two files under
# $FAKE_PREFIX, and any other package as a command of that name in $FAKE_BIN.
fakes() {
	mkdir -p "$1"
	# Never write through a link of path_without to the real command.
	rm -f "$1/apt-get" "$1/sudo" "$1/id"
	cat >"$1/apt-get" <<'SH'
#!/bin/bash
echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-} uid=$(id -u)" >>"$CALLS"
[ -z "${FAKE_APT_FAIL:-}" ] || exit 100
if [ "$1" = install ] && [ -n "${FAKE_PREFIX:-}" ]; then
	mkdir -p "$FAKE_PREFIX/include" "$FAKE_PREFIX/lib"
	touch "$FAKE_PREFIX/include/turbojpeg.h" "$FAKE_PREFIX/lib/libturbojpeg.a"
fi
if [ "$1" = install ] && [ -n "${FAKE_BIN:-}" ]; then
	for p in "$@"; do
		case "$p" in -*|install) ;; *) rm -f "$FAKE_BIN/$p"; printf '#!/bin/sh\n' >"$FAKE_BIN/$p"; chmod +x "$FAKE_BIN/$p" ;; esac
	done
fi
SH
	cat >"$1/sudo" <<'SH'
#!/bin/bash
echo "sudo $*" >>"$CALLS"
export FAKE_UID=0
exec "$@"
SH
	cat >"$1/id" <<'SH'
#!/bin/bash
[ "$1" = -u ] && { echo "${FAKE_UID:-0}"; exit 0; }
exec /usr/bin/id "$@"
SH
	chmod +x "$1/apt-get" "$1/sudo" "$1/id"
}

# --- make deps: libturbojpeg0-dev missing, as root and as a user with sudo.
for who in root user; do
	d="$tmp/deps-$who"
	fakes "$d/bin"
	uid=0
	[ $who = user ] && uid=1001
	: >"$tmp/calls"
	(cd "$root" && CALLS="$tmp/calls" FAKE_UID=$uid FAKE_PREFIX="$d/prefix" PATH="$d/bin:$PATH" \
		make --no-print-directory deps TURBOJPEG_INCLUDE="$d/prefix/include" TURBOJPEG_LIB="$d/prefix/lib") >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/calls" >>"$tmp/out"
	want="apt-get install -y -q --no-upgrade libturbojpeg0-dev DEBIAN_FRONTEND=noninteractive"
	if [ $who = root ]; then
		! grep -q '^sudo' "$tmp/calls"
	else
		grep -q '^sudo env DEBIAN_FRONTEND=noninteractive apt-get install' "$tmp/calls"
	fi
	via=$?
	if [ $rc -eq 0 ] && [ $via -eq 0 ] && grep -qF "$want" "$tmp/calls"; then
		pass "deps installs libturbojpeg0-dev as $who"
	else
		fail "deps installs libturbojpeg0-dev as $who (rc $rc)"
	fi
done

# make deps: a user without sudo is told what to install.
d="$tmp/deps-nosudo"
fakes "$d/fake" && rm "$d/fake/sudo"
path_without "$d/bin" sudo apt-get id
cp "$d/fake/"* "$d/bin/"
: >"$tmp/calls"
(cd "$root" && CALLS="$tmp/calls" FAKE_UID=1001 PATH="$d/bin" \
	make --no-print-directory deps TURBOJPEG_INCLUDE="$d/none" TURBOJPEG_LIB="$d/none") >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'apt-get install libturbojpeg0-dev' "$tmp/out" && [ ! -s "$tmp/calls" ]; then
	pass "deps without root or sudo says what to install"
else
	fail "deps without root or sudo says what to install (rc $rc)"
fi

# make deps: apt-get failing (offline, no such package) is reported with the command to run.
d="$tmp/deps-aptfail"
fakes "$d/bin"
: >"$tmp/calls"
(cd "$root" && CALLS="$tmp/calls" FAKE_UID=1001 FAKE_APT_FAIL=1 PATH="$d/bin:$PATH" \
	make --no-print-directory deps TURBOJPEG_INCLUDE="$d/none" TURBOJPEG_LIB="$d/none") >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'install it yourself: sudo apt-get install libturbojpeg0-dev' "$tmp/out"; then
	pass "deps reports a failed apt-get"
else
	fail "deps reports a failed apt-get (rc $rc)"
fi

# --- make e2e-deps: chromium and ffmpeg (the browser test) missing, as root
# and as a user with sudo: one apt-get install of both, and a second run
# installs nothing; with one missing only that one is installed.
for who in root user; do
	d="$tmp/e2e-$who"
	mkdir -p "$d"
	path_without "$d/bin" 'chromium*' google-chrome ffmpeg
	fakes "$d/bin"
	uid=0
	[ $who = user ] && uid=1001
	: >"$tmp/calls"
	run_e2e() { (cd "$root" && CALLS="$tmp/calls" FAKE_UID=$uid FAKE_BIN="$d/bin" PATH="$d/bin" make --no-print-directory e2e-deps) >"$tmp/out" 2>&1; }
	run_e2e
	rc=$?
	run_e2e
	rc2=$?
	cat "$tmp/calls" >>"$tmp/out"
	if [ $who = root ]; then
		! grep -q '^sudo' "$tmp/calls"
	else
		grep -q '^sudo env DEBIAN_FRONTEND=noninteractive apt-get install' "$tmp/calls"
	fi
	via=$?
	if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ $via -eq 0 ] && [ "$(grep -c '^apt-get install' "$tmp/calls")" -eq 1 ] &&
		grep -qF "apt-get install -y -q --no-upgrade chromium ffmpeg DEBIAN_FRONTEND=noninteractive" "$tmp/calls"; then
		pass "e2e-deps installs chromium and ffmpeg once as $who"
	else
		fail "e2e-deps installs chromium and ffmpeg once as $who (rc $rc, then $rc2)"
	fi
done
d="$tmp/e2e-one"
mkdir -p "$d"
path_without "$d/bin" 'chromium*' google-chrome ffmpeg
fakes "$d/bin"
printf '#!/bin/sh\n' >"$d/bin/ffmpeg" && chmod +x "$d/bin/ffmpeg"
: >"$tmp/calls"
(cd "$root" && CALLS="$tmp/calls" FAKE_UID=0 FAKE_BIN="$d/bin" PATH="$d/bin" make --no-print-directory e2e-deps) >"$tmp/out" 2>&1
rc=$?
cat "$tmp/calls" >>"$tmp/out"
if [ $rc -eq 0 ] && grep -qF "apt-get install -y -q --no-upgrade chromium DEBIAN_FRONTEND" "$tmp/calls"; then
	pass "e2e-deps installs only chromium when ffmpeg is there"
else
	fail "e2e-deps installs only chromium when ffmpeg is there (rc $rc)"
fi
# Another browser the test takes (google-chrome, $FACELAMBDA_CHROMIUM) and
# $FACELAMBDA_FFMPEG: nothing to install.
for alt in google-chrome env; do
	d="$tmp/e2e-alt-$alt"
	mkdir -p "$d"
	path_without "$d/bin" 'chromium*' google-chrome ffmpeg
	fakes "$d/bin"
	envs=(FACELAMBDA_FFMPEG=/opt/ffmpeg)
	if [ $alt = env ]; then
		envs+=(FACELAMBDA_CHROMIUM=/opt/chrome)
	else
		printf '#!/bin/sh\n' >"$d/bin/google-chrome" && chmod +x "$d/bin/google-chrome"
	fi
	: >"$tmp/calls"
	(cd "$root" && env "${envs[@]}" CALLS="$tmp/calls" FAKE_UID=1001 PATH="$d/bin" make --no-print-directory e2e-deps) >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/calls" >>"$tmp/out"
	if [ $rc -eq 0 ] && ! grep -q 'apt-get install' "$tmp/calls"; then
		pass "e2e-deps installs nothing with $alt's browser and \$FACELAMBDA_FFMPEG"
	else
		fail "e2e-deps installs nothing with $alt's browser and \$FACELAMBDA_FFMPEG (rc $rc)"
	fi
done
# apt-get failing (offline): the command to run is said.
d="$tmp/e2e-aptfail"
mkdir -p "$d"
path_without "$d/bin" 'chromium*' google-chrome ffmpeg
fakes "$d/bin"
: >"$tmp/calls"
(cd "$root" && CALLS="$tmp/calls" FAKE_UID=1001 FAKE_APT_FAIL=1 PATH="$d/bin" make --no-print-directory e2e-deps) >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q 'install it yourself: sudo apt-get install chromium ffmpeg' "$tmp/out"; then
	pass "e2e-deps reports a failed apt-get"
else
	fail "e2e-deps reports a failed apt-get (rc $rc)"
fi

# --- layers/fetch.sh: the manifest check with python3, with node only, and
# with neither; a wrong hash fails either way. fetch.sh runs from a copy of
# layers/ sharing the real download cache.
lay="$tmp/layers"
mkdir -p "$lay/models" "$lay/.cache"
cp "$root/layers/fetch.sh" "$lay/"
ln -s "$root/layers/minifasnet" "$lay/minifasnet"
for c in "$root"/layers/.cache/*/; do ln -s "$c" "$lay/.cache/"; done
cp "$root/layers/models/manifest.json" "$lay/models/"
path_without "$tmp/no-python" 'python*'
path_without "$tmp/no-node" node nodejs
path_without "$tmp/neither" 'python*' node nodejs
path_without "$tmp/no-npm" npm
check_fetch() { # name PATH want-rc want-text
	(PATH="$2" "$lay/fetch.sh") >"$tmp/out" 2>&1
	local rc=$?
	if [ $rc -eq "$3" ] && grep -qF "$4" "$tmp/out"; then pass "$1"; else fail "$1 (rc $rc)"; fi
}
check_fetch "fetch.sh checks hashes with python3" "$tmp/no-node" 0 "layers ready"
check_fetch "fetch.sh checks hashes with node" "$tmp/no-python" 0 "layers ready"
check_fetch "fetch.sh without python3 or node says so" "$tmp/neither" 1 "python3 or node is required"
sed -i '0,/"sha256": "[0-9a-f]*"/s//"sha256": "'"$(printf '0%.0s' {1..64})"'"/' "$lay/models/manifest.json"
check_fetch "fetch.sh refuses a wrong hash (python3)" "$tmp/no-node" 1 "hash mismatch"
check_fetch "fetch.sh refuses a wrong hash (node)" "$tmp/no-python" 1 "hash mismatch"
rm -rf "$lay/.cache"/*
check_fetch "fetch.sh without npm says so" "$tmp/no-npm" 1 "npm is required"

[ $fails -eq 0 ] || { echo "$fails set-up test(s) failed"; exit 1; }
echo "set-up tests passed"
