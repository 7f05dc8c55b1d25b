#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests (Check, under ASan and
# UBSan), orgctl CLI tests, drift checks, the local IdP self-test and the
# integration tests against Debian's apache2. Ends with one summary line
# per runner and exits non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh" || exit 1
build=$(bash "$top/scripts/build.sh") || { echo "build failed" >&2; exit 1; }
export BUILD_DIR=$build ORGCTL=$build/orgctl MOD_AUTH_ORGS_SO=$build/.libs/mod_auth_orgs.so

status=0
(cd "$build" && make -j"$(nproc)" check >/dev/null 2>&1) || status=1
if [ $status -ne 0 ]; then
    # Show the failing logs so CI output says what broke.
    for log in $(find "$build/tests" -name '*.log' | sort); do
        [ -f "$log" ] || continue
        grep -q '^FAIL\|^ERROR' "${log%.log}.trs" 2>/dev/null && { echo "==== $log"; tail -40 "$log"; }
    done
fi
# Style and static analysis: clang-format and cppcheck (both on a new machine).
fmt_rc=0
(cd "$build" && make format-check) > "$build/format.log" 2>&1 || { fmt_rc=1; status=1; tail -20 "$build/format.log"; }
lint_rc=0
(cd "$build" && make lint) > "$build/lint.log" 2>&1 || { lint_rc=1; status=1; tail -20 "$build/lint.log"; }
(cd "$top/tests/idp" && node selftest.mjs) > "$build/idp-selftest.log" 2>&1
idp_rc=$?
[ $idp_rc -eq 0 ] || { status=1; tail -30 "$build/idp-selftest.log"; }
# The README's demo command, end to end on its own ports.
demo_state=$(mktemp -d /tmp/orgs-demo-check.XXXXXX)
# three free loopback ports, so a busy 8080 does not fail the run
read -r p1 p2 p3 < <(node -e '
  const net = require("net");
  Promise.all([0, 1, 2].map(() => new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
  }))).then((ps) => console.log(ps.join(" ")));')
DEMO_SETUP=0 DEMO_PORT=${p1:-18080} DEMO_IDP1_PORT=${p2:-19011} DEMO_IDP2_PORT=${p3:-19012} \
    DEMO_STATE_DIR="$demo_state" bash "$top/scripts/demo.sh" --check > "$build/demo-check.log" 2>&1
demo_rc=$?
rm -rf "$demo_state"
[ $demo_rc -eq 0 ] || { status=1; tail -30 "$build/demo-check.log"; }
node "$top/tests/integration/run.mjs" 2>&1 | tee "$build/integration.log" | grep -v '^integration: '
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# The same suite with every server's store in PostgreSQL (docs/testing.md)
# when INTEGRATION_PG=1 (it doubles the integration time: not run by
# default); ORGS_TEST_STORE=postgresql runs only that one.
if [ "${INTEGRATION_PG:-0}" != 0 ] && [ "${ORGS_TEST_STORE:-lmdb}" != postgresql ]; then
    ORGS_TEST_STORE=postgresql node "$top/tests/integration/run.mjs" 2>&1 |
        tee "$build/integration-pg.log" | grep -v '^integration: '
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
# The Debian package: built from the dist tarball (make deb), checked with
# lintian, installed on this machine's apache2 and purged again
# (tests/deb/install.sh; restarts no service).
deb_rc=0
{
    (cd "$build" && make deb) &&
        lintian --fail-on error "$build"/deb/libapache2-mod-auth-orgs_*.deb &&
        "$top/tests/deb/install.sh" "$build"/deb/libapache2-mod-auth-orgs_*.deb
} >"$build/deb-test.log" 2>&1 || deb_rc=$?
[ $deb_rc -eq 0 ] || [ $deb_rc -eq 77 ] || { status=1; tail -30 "$build/deb-test.log"; }

echo
echo "==== summary"
for log in $(find "$build/tests/unit" -name 'test_*.log' | sort); do
    name=${log#"$build/tests/unit/"}
    printf '%s: %s\n' "${name%.log}" "$(grep -h 'Checks:' "$log" | tail -1)"
done
grep -h '^orgctl cli:' "$build"/tests/cli/test_orgctl.sh.log 2>/dev/null || echo "orgctl cli: no result"
grep -h '^drift:' "$build"/tests/drift.sh.log 2>/dev/null || echo "drift: no result"
if [ $fmt_rc -eq 0 ]; then echo "format: clean"; else echo "format: clang-format would change files"; fi
if [ $lint_rc -eq 0 ]; then echo "lint: cppcheck clean"; else echo "lint: cppcheck found problems"; fi
if [ $idp_rc -eq 0 ]; then echo "idp selftest: passed"; else echo "idp selftest: failed"; fi
if [ $demo_rc -eq 0 ]; then echo "demo check: passed"; else echo "demo check: failed"; fi
grep -h '^integration: ' "$build/integration.log" || echo "integration: no result"
if [ "${INTEGRATION_PG:-0}" != 0 ] && [ "${ORGS_TEST_STORE:-lmdb}" != postgresql ]; then
    grep -h '^integration: ' "$build/integration-pg.log" || echo "integration (postgresql): no result"
fi
grep -h '^deb install: \|^SKIP' "$build/deb-test.log" || echo "deb: failed (see $build/deb-test.log)"
exit $status
