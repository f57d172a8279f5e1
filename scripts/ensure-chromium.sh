#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests
# (npm run test:browser). Installs the `chromium` package with apt-get when it is
# missing and this script runs as root; otherwise stops with what to install.
# It never skips silently: without a browser the tests cannot run.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$CHROMIUM" != /usr/bin/chromium ]; then
  echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM is not an executable file." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing; installing Debian's chromium package (apt-get)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q chromium >&2
  if [ -x /usr/bin/chromium ]; then
    echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -n 1)" >&2
    exit 0
  fi
  echo "ensure-chromium: apt-get finished but /usr/bin/chromium is still missing." >&2
  exit 1
fi

cat >&2 <<'MSG'
ensure-chromium: /usr/bin/chromium is missing, and this script cannot install it
(it needs root and apt-get). Install Chromium, then run the tests again:

  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium
                  (Ubuntu's chromium is a snap; there, point CHROMIUM_PATH at any
                   Chromium or Chrome binary instead)
  elsewhere:      CHROMIUM_PATH=/path/to/chromium-or-chrome npm run test:browser
MSG
exit 1
