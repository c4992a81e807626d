#!/bin/sh
# Installs what git-pipeline needs to build and test on a fresh Debian machine, or says what is missing.
set -e
missing=""
pkg-config --exists libgit2 2>/dev/null || missing="$missing libgit2-dev"
pkg-config --exists zlib 2>/dev/null || missing="$missing zlib1g-dev"
pkg-config --exists sqlite3 2>/dev/null || missing="$missing libsqlite3-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v git >/dev/null 2>&1 || missing="$missing git"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
# The buildspec end-to-end test builds a Python project with pytest (JUnit XML), as users do.
python3 -c "import pytest" 2>/dev/null || missing="$missing python3-pytest"
# The service tests check the shipped unit with systemd-analyze (systemd is not PID 1 here).
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
# Actions run in bubblewrap by default (the sandbox); the no-survivors test's daemons use perl and
# sqlite3 plays the hostile pusher's tool.
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v perl >/dev/null 2>&1 || missing="$missing perl"
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
# The intake test slows the hook under strace so that its kills land at every instant of its life.
command -v strace >/dev/null 2>&1 || missing="$missing strace"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    # A fresh machine has no package lists: update first.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "missing:$missing" >&2
    echo "install them first, e.g.: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
