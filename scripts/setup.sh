#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, test and demo
# mod_auth_orgs: build tools and libraries, Debian's apache2, Chromium, the
# Debian packaging tools (make deb), and the npm packages of the local
# OpenID Providers and the integration tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES="apache2 apache2-dev liblmdb-dev lmdb-utils libjansson-dev libcurl4-openssl-dev
  libssl-dev check autoconf automake libtool pkg-config make gcc chromium fonts-ipafont-gothic curl python3
  clang-format cppcheck debhelper dpkg-dev fakeroot lintian file postgresql libpq-dev"

missing=""
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

command -v node >/dev/null || { echo "setup: node (>= 20) is required" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "setup: node >= 20 is required (found $(node --version))" >&2; exit 1; }

for dir in tests/idp tests/integration; do
    if [ -f "$top/$dir/package.json" ] && [ ! -d "$top/$dir/node_modules" ]; then
        echo "setup: npm packages for $dir"
        if [ -f "$top/$dir/package-lock.json" ]; then
            (cd "$top/$dir" && npm ci --no-audit --no-fund --loglevel=error)
        else
            (cd "$top/$dir" && npm install --no-audit --no-fund --loglevel=error)
        fi
    fi
done
