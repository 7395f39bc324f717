#!/usr/bin/env bash
# Installs Debian/Ubuntu packages with apt-get, as root or through sudo:
#   scripts/apt-install.sh PACKAGE...
# Packages already installed are left as they are (--no-upgrade). On a
# machine without apt-get, or as a user without sudo, it says what to install
# and fails.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
pkgs="$*"

if ! command -v apt-get >/dev/null; then
	echo "setup: apt-get not found: install $pkgs (or your system's equivalent) yourself, then run make again" >&2
	exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "setup: $pkgs must be installed and you are not root and have no sudo: as root run" >&2
		echo "  apt-get install $pkgs" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "setup: installing $pkgs with ${sudo[*]:+sudo }apt-get" >&2
# env carries the setting through sudo (a bare VAR=value after an empty $SUDO
# would be taken as the command name).
run() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "$@"; }
run apt-get update -qq || echo "setup: apt-get update failed; trying with the package lists there are" >&2
if ! run apt-get install -y -q --no-upgrade "$@" >&2; then
	echo "setup: could not install $pkgs; install it yourself: ${sudo[*]:+sudo }apt-get install $pkgs" >&2
	exit 1
fi
