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
# The ssh entry point's test logs in to a real sshd on 127.0.0.1 (ssh-keygen comes with the client).
command -v /usr/sbin/sshd >/dev/null 2>&1 || missing="$missing openssh-server"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
# The web console is tested in a real browser (Debian's chromium, headless) and with curl.
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
# Mail notifications are tested through a real sendmail (msmtp) to an SMTP receiver on 127.0.0.1.
command -v msmtp >/dev/null 2>&1 || missing="$missing msmtp"
# The AWS checks (AWSModelTests) need a virtualenv: Debian's python3 makes one only with python3-venv.
python3 -c "import ensurepip, venv" 2>/dev/null || missing="$missing python3-venv"
if [ -n "$missing" ]; then
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
fi
# AWS's own machine-readable models check what we print and accept: botocore (CodePipeline's service
# model) and cfn-lint (CloudFormation), from PyPI into a virtualenv of the project's (.build/aws-venv,
# git-ignored with the rest of .build). scripts/aws-check.py is what the tests run with it.
venv=.build/aws-venv
if ! "$venv/bin/python" -c "import botocore, cfnlint" 2>/dev/null; then
    echo "installing botocore and cfn-lint into $venv"
    mkdir -p .build
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check botocore cfn-lint
fi
