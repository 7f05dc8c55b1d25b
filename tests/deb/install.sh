#!/usr/bin/env bash
# The package as an administrator meets it: installs the .deb on this
# machine's apache2 tree, checks what it put where (module, a2enmod files,
# orgctl stripped, manual pages, docs, the store directory and the key with
# their owners and modes), that the module is enabled and `apache2ctl -t`
# accepts the configuration with it, that orgctl works as www-data with the
# package's paths, that a remove disables the module and keeps the data, a
# reinstall enables it again, and a purge deletes the data. No service is
# started or restarted; the package is purged at the end.
#
# usage: tests/deb/install.sh PATH/libapache2-mod-auth-orgs_*.deb
# Needs root (exit 77, skipped, otherwise).
set -u

deb=${1:-}
pkg=libapache2-mod-auth-orgs
store=/var/lib/apache2/orgs
key=/etc/apache2/orgs.key
[ -f "$deb" ] || { echo "FAIL: no package file '$deb'"; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
[ "$(id -u)" -eq 0 ] || { echo "SKIP: installing a package needs root"; exit 77; }
installed() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; }
if ! installed && { [ -e "$store" ] || [ -e "$key" ]; }; then
    # Somebody's data from a source install: never touch it.
    echo "SKIP: $store or $key exists outside the package"
    exit 77
fi

failures=0
checks=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() { # ok DESCRIPTION COMMAND...: the command must succeed
    local what=$1
    shift
    checks=$((checks + 1))
    "$@" >/dev/null 2>&1 || fail "$what"
}

# apt-get waits for the dpkg lock (another install may be running) and
# resolves nothing new: the dependencies are this machine's apache2.
apt_install() {
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "$deb" >/tmp/orgs-deb-test.log 2>&1 || {
        tail -20 /tmp/orgs-deb-test.log
        return 1
    }
}
dpkg_do() { # dpkg_do -r|-P: remove or purge, waiting for the lock
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq \
        "$([ "$1" = -P ] && echo purge || echo remove)" "$pkg" >/tmp/orgs-deb-test.log 2>&1 || {
        tail -20 /tmp/orgs-deb-test.log
        return 1
    }
}
mode_of() { stat -c '%U:%G %a' "$1" 2>/dev/null; }

trap 'installed && dpkg_do -P' EXIT

checks=$((checks + 1))
apt_install || { fail "the package does not install"; exit 1; }

for f in /usr/lib/apache2/modules/mod_auth_orgs.so /usr/bin/orgctl \
    /etc/apache2/mods-available/auth_orgs.load /etc/apache2/mods-available/auth_orgs.conf \
    /usr/share/man/man1/orgctl.1.gz /usr/share/man/man8/mod_auth_orgs.8.gz \
    /usr/share/doc/$pkg/copyright /usr/share/doc/$pkg/changelog.gz \
    /usr/share/mod_auth_orgs/pages/prompt.html /usr/share/mod_auth_orgs/pages/messages.ja; do
    ok "installed: $f" test -f "$f"
done
for doc in directives orgctl quickstart upgrading log-messages; do
    ok "installed: the $doc document" sh -c "ls /usr/share/doc/$pkg/$doc.md* | grep -q ."
done
ok "orgctl is stripped" sh -c 'file -L /usr/bin/orgctl | grep -q ", stripped"'
ok "the module is stripped" sh -c 'file -L /usr/lib/apache2/modules/mod_auth_orgs.so | grep -q ", stripped"'
ok "orgctl(1) is the generated page" sh -c 'zcat /usr/share/man/man1/orgctl.1.gz | grep -q "^\.TH \"ORGCTL\" \"1\""'
ok "mod_auth_orgs(8) documents OrgsStore" sh -c 'zcat /usr/share/man/man8/mod_auth_orgs.8.gz | grep -q OrgsStore'
ok "orgctl runs" /usr/bin/orgctl --version

checks=$((checks + 1))
[ "$(mode_of "$store")" = "www-data:www-data 750" ] || fail "store directory: $(mode_of "$store"), expected www-data:www-data 750"
checks=$((checks + 1))
[ "$(mode_of "$key")" = "root:www-data 640" ] || fail "key: $(mode_of "$key"), expected root:www-data 640"
checks=$((checks + 1))
[ "$(head -c 64 "$key" | wc -c)" -ge 32 ] || fail "key: fewer than 32 bytes"
ok "the module is enabled" test -L /etc/apache2/mods-enabled/auth_orgs.load
ok "its configuration is enabled" test -L /etc/apache2/mods-enabled/auth_orgs.conf
ok "apache2ctl -t accepts the configuration with the module" apache2ctl -t
ok "apache2ctl -t with the package's store and key" \
    apache2ctl -t -c "OrgsStore $store" -c "OrgsCryptoKey file:$key"
ok "httpd lists the module" sh -c 'apache2ctl -t -D DUMP_MODULES 2>&1 | grep -q auth_orgs_module'
# The documented way to run orgctl: as www-data, on the package's paths.
as_web() { runuser -u www-data -- env ORGS_STORE="$store" ORGS_KEY_FILE="$key" /usr/bin/orgctl "$@"; }
ok "orgctl as www-data creates an org in the package's store" as_web org create deb-test-org
ok "orgctl check as www-data with the package's key" as_web check
ok "the store files belong to www-data" sh -c "[ \"\$(stat -c %U $store/data.mdb)\" = www-data ]"

# remove: module disabled, configuration still valid, data kept
checks=$((checks + 1))
dpkg_do -r || fail "remove failed"
ok "remove disables the module" test ! -e /etc/apache2/mods-enabled/auth_orgs.load
ok "apache2ctl -t after remove" apache2ctl -t
ok "remove keeps the store" test -f "$store/data.mdb"
ok "remove keeps the key" test -f "$key"
# reinstall: enabled again, the same data
checks=$((checks + 1))
apt_install || fail "reinstall failed"
ok "a reinstall enables the module again" test -L /etc/apache2/mods-enabled/auth_orgs.load
ok "a reinstall keeps the store" sh -c "runuser -u www-data -- /usr/bin/orgctl -s $store org show deb-test-org"
# an administrator's a2dismod survives an upgrade (postinst enables on first install only)
a2dismod -q auth_orgs >/dev/null 2>&1
checks=$((checks + 1))
apt_install || fail "reinstall over itself failed"
ok "an administrator's a2dismod is kept" test ! -e /etc/apache2/mods-enabled/auth_orgs.load
# purge: data gone
checks=$((checks + 1))
dpkg_do -P || fail "purge failed"
ok "purge deletes the store" test ! -e "$store"
ok "purge deletes the key" test ! -e "$key"
ok "apache2ctl -t after purge" apache2ctl -t

echo "deb install: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
