#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/browser), driven by playwright-core.
# Idempotent and quiet: does nothing when /usr/bin/chromium is there; runs `apt-get update` only when
# the first install attempt fails (a stale or missing package list).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

install() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/tmp/install-chromium.log 2>&1
}

if ! install; then
  echo "chromium: install failed, updating the package lists and trying again"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>/tmp/install-chromium.log 2>&1
  if ! install; then
    tail -n 30 /tmp/install-chromium.log >&2
    echo "chromium: could not install Debian's chromium (see /tmp/install-chromium.log)" >&2
    exit 1
  fi
fi
echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null || true)"
