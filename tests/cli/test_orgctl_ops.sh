#!/usr/bin/env bash
# CLI tests for what an operator relies on beyond the data commands: the
# key check (a wrong key refused with exit 5, recorded in new and in older
# stores), the issuer check of conn create/update against a provider on
# 127.0.0.1, users named by --connection/--email in member and role
# commands, per-command help, the confirmation of org/conn delete, doctor,
# and the format line of export.
#
# Environment: ORGCTL = the built binary (automake sets it), top_srcdir.
set -u

ORGCTL=${ORGCTL:-./orgctl}
[ -x "$ORGCTL" ] || { echo "FAIL: orgctl binary not found at '$ORGCTL' (set ORGCTL)"; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/orgctl-ops-XXXXXX") || exit 1
op_pid=
cleanup() {
    [ -z "$op_pid" ] || kill "$op_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

out=$tmp/out
err=$tmp/err
failures=0
checks=0
rc=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
run() {
    "$ORGCTL" "$@" >"$out" 2>"$err"
    rc=$?
}
# expect RC ARGS...: the exit code; a failure prints one error line
expect() {
    local want=$1
    shift
    run "$@"
    checks=$((checks + 1))
    if [ "$rc" -ne "$want" ]; then
        fail "orgctl $*: exit $rc, expected $want; stderr: $(head -c 300 "$err")"
        return 1
    fi
    if [ "$want" -ne 0 ] && { [ "$(wc -l <"$err")" -ne 1 ] || ! grep -Eq '^orgctl: [a-z-]+( [a-z-]+)?: .+' "$err"; }; then
        fail "orgctl $*: expected one 'orgctl: <command>: <reason>' line, got: $(head -c 300 "$err")"
        return 1
    fi
    return 0
}
assert_match() { # assert_match REGEX TEXT WHAT
    checks=$((checks + 1))
    printf '%s' "$2" | grep -Eq -- "$1" || fail "$3: '$(printf '%s' "$2" | head -c 400)' does not match /$1/"
}
j() {
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else v)' "$out" "$1" 2>&1
}
newkey() { (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$1"); }

key=$tmp/key
key2=$tmp/key2
newkey "$key"
newkey "$key2"
(umask 077 && echo "client-secret-1" >"$tmp/secret")
store=$tmp/store
mkdir "$store"
export ORGS_STORE=$store ORGS_KEY_FILE=$key

# ---- a provider on 127.0.0.1: discovery and JWKS as static files ---------

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
iss="http://127.0.0.1:$port"
mkdir -p "$tmp/op/.well-known" "$tmp/op/bad/.well-known"
cat >"$tmp/op/.well-known/openid-configuration" <<EOF
{"issuer": "$iss", "authorization_endpoint": "$iss/auth", "token_endpoint": "$iss/token",
 "jwks_uri": "$iss/jwks.json", "end_session_endpoint": "$iss/logout"}
EOF
cat >"$tmp/op/jwks.json" <<'EOF'
{"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1", "n": "sXch", "e": "AQAB"},
          {"kty": "EC", "alg": "ES256", "use": "sig", "kid": "k2", "crv": "P-256", "x": "AA", "y": "AA"},
          {"kty": "RSA", "use": "enc", "kid": "k3", "n": "sXch", "e": "AQAB"}]}
EOF
# an issuer whose document names another issuer (a typo'd tenant, a proxy)
cat >"$tmp/op/bad/.well-known/openid-configuration" <<EOF
{"issuer": "$iss/other", "authorization_endpoint": "$iss/auth", "token_endpoint": "$iss/token",
 "jwks_uri": "$iss/jwks.json"}
EOF
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/op" >"$tmp/op.log" 2>&1 &
op_pid=$!
for _ in $(seq 1 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('$iss/jwks.json')" 2>/dev/null && break
    sleep 0.1
done

# ---- the key check ---------------------------------------------------------

expect 0 org create acme
expect 0 conn create okta --issuer "$iss" --client-id c1 --client-secret-file "$tmp/secret"
okta=$(cat "$out")
assert_match '^con_[A-Za-z0-9]{16}$' "$okta" "conn create with a check prints only the id on stdout"
assert_match "checked issuer $iss" "$(cat "$err")" "conn create reports the issuer check"
assert_match 'JWKS: .*2 signing keys \(RS256,ES256\)' "$(cat "$err")" "conn create reports the JWKS"
assert_match 'logout endpoint: yes' "$(cat "$err")" "conn create reports the logout endpoint"
expect 5 --key-file "$key2" conn create okta2 --issuer "$iss" --client-id c2 \
    --client-secret-file "$tmp/secret"
assert_match 'wrong key for this store' "$(cat "$err")" "a wrong key is named"
expect 3 conn show okta2 # nothing was written
expect 5 --key-file "$key2" check
expect 5 --key-file "$key2" org create other # every command given the key checks it
expect 5 --key-file "$key2" export
expect 0 check
assert_match '^key: matches' "$(head -1 "$out")" "check verifies the key"
assert_match '^secrets: 1 of 1 decrypt' "$(sed -n 2p "$out")" "check counts decrypting secrets"
expect 0 check --json
assert_match '"secrets_decrypted": 1' "$(cat "$out")" "check --json counts decrypting secrets"
(unset ORGS_KEY_FILE && expect 0 check && assert_match '^key: not given' "$(head -1 "$out")" \
    "check without a key says so") || failures=$((failures + 1))
cp "$key2" "$tmp/open.key" && chmod 0644 "$tmp/open.key"
expect 1 --key-file "$tmp/open.key" check
assert_match 'world-readable' "$(cat "$err")" "a world-readable key is refused as httpd refuses it"

# A store made before the check value: the fixture of format 1 (its
# client secrets are sealed with its key file).
fixture=$srcdir/tests/fixtures/store-v1
if command -v mdb_load >/dev/null; then
    mkdir "$tmp/v1"
    mdb_load -f "$fixture/store.dump" "$tmp/v1" 2>/dev/null
    cp "$fixture/key" "$tmp/v1.key" && chmod 0600 "$tmp/v1.key"
    expect 5 -s "$tmp/v1" --key-file "$key" check # no secret opens: wrong
    expect 0 -s "$tmp/v1" --key-file "$tmp/v1.key" check
    assert_match '^key: opens the stored secrets' "$(head -1 "$out")" "an old store's key proves itself"
    assert_match '^secrets: 2 of 2 decrypt' "$(sed -n 2p "$out")" "an old store's secrets decrypt"
    expect 5 -s "$tmp/v1" --key-file "$key" org update org1 --display-name X
    expect 0 -s "$tmp/v1" --key-file "$tmp/v1.key" org update org1 --display-name "Org One"
    expect 0 -s "$tmp/v1" --key-file "$tmp/v1.key" check
    assert_match '^key: matches' "$(head -1 "$out")" "the first write records the key check value"
    checks=$((checks + 1))
    mdb_dump -s meta -p "$tmp/v1" | grep -q '^ keycheck$' || fail "no keycheck in the migrated store's meta"
    checks=$((checks + 1))
    mdb_dump -s meta -p "$tmp/v1" | grep -A1 '^ version$' | grep -q '^ 3$' || fail "the fixture was not migrated to format 3"
else
    echo "note: mdb_load missing (lmdb-utils): the older-store key check is not tested"
fi
# A store created without a key gets the value from the first write with one.
mkdir "$tmp/nokey"
(unset ORGS_KEY_FILE && expect 0 -s "$tmp/nokey" org create a) || failures=$((failures + 1))
expect 0 -s "$tmp/nokey" --key-file "$key2" org create b
expect 5 -s "$tmp/nokey" --key-file "$key" org create c

# ---- the issuer check ------------------------------------------------------

expect 1 conn create q --issuer "https://idp.example.com/t?x=1" --client-id c --client-secret-file "$tmp/secret" --no-check
assert_match 'query' "$(cat "$err")" "an issuer with a query is refused, even with --no-check"
expect 1 conn create f --issuer "https://idp.example.com/t#x" --client-id c --client-secret-file "$tmp/secret" --no-check
expect 1 conn create h --issuer "http://idp.example.com" --client-id c --client-secret-file "$tmp/secret" --no-check
expect 1 conn create other --issuer "$iss/bad" --client-id c --client-secret-file "$tmp/secret"
assert_match 'issuer does not equal' "$(cat "$err")" "a discovery document for another issuer is refused"
assert_match 'no-check' "$(cat "$err")" "the refusal names --no-check"
expect 3 conn show other
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 1 conn create down --issuer "http://127.0.0.1:$closed" --client-id c --client-secret-file "$tmp/secret"
assert_match 'discovery' "$(cat "$err")" "an unreachable issuer is refused at creation"
expect 0 conn create down --issuer "http://127.0.0.1:$closed" --client-id c --client-secret-file "$tmp/secret" --no-check
expect 1 conn update down --issuer "$iss/bad"
expect 0 conn update down --issuer "$iss"
assert_match 'checked issuer' "$(cat "$err")" "conn update checks a new issuer"
expect 0 conn update down --display-name "Down" # no network without a new issuer

# ---- users by --connection/--email ------------------------------------------

expect 0 org enable-conn acme okta
expect 0 member add acme --connection okta --email Jane@Example.com --role viewer
jane=$(cat "$out")
expect 0 role add acme --connection okta --email Jane@example.com admin billing
expect 0 member list acme --json
assert_match '"admin", "billing", "viewer"|"viewer", "admin", "billing"' "$(j '[m["roles"] for m in d][0]')" "role add by email"
expect 0 role remove acme --connection okta --email Jane@example.com billing
expect 0 member list acme --json
assert_match '^\[.*"admin".*\]$' "$(j '[m["roles"] for m in d][0]')" "role remove by email"
expect 3 role add acme --connection okta --email nobody@example.com admin
expect 2 role add acme --connection okta admin # --email missing
expect 2 role add acme --connection okta --email Jane@example.com # no role
expect 0 role add acme "$jane" auditor # by id as before
expect 0 member remove acme --connection okta --email Jane@EXAMPLE.com
expect 0 member list acme --json
assert_match '^\[\]$' "$(j 'd')" "member remove by email"

# ---- help ------------------------------------------------------------------

expect 0 help
# the command words of each "  group verb ARGS" line
cmds=$(awk '/^  [a-z]/ { w = $1; if ($2 ~ /^[a-z][a-z-]*$/) w = w " " $2; print w }' "$out" | sort -u)
[ "$(printf '%s\n' "$cmds" | wc -l)" -ge 25 ] || fail "help lists fewer than 25 commands: $cmds"
while read -r cmd; do
    # shellcheck disable=SC2086
    expect 0 help $cmd || continue
    assert_match "^usage: orgctl $cmd" "$(head -1 "$out")" "help $cmd: usage line"
    assert_match "  orgctl " "$(cat "$out")" "help $cmd: an example"
done <<<"$cmds"
expect 0 conn create --help
assert_match 'discovery document' "$(cat "$out")" "conn create --help explains the check"
expect 2 help nosuch
assert_match "unknown command 'nosuch'" "$(cat "$err")" "help nosuch says so"
expect 2 help org nosuch

# ---- confirmation ----------------------------------------------------------

expect 0 org create doomed
expect 2 org delete doomed </dev/null
assert_match -- '--yes' "$(cat "$err")" "a delete without a terminal asks for --yes"
expect 0 org show doomed # still there
expect 2 conn delete down </dev/null
expect 0 conn show down
# on a terminal: asked, and only "y"/"yes" deletes
ask() { # ask ANSWER ARGS...: runs orgctl on a pseudo-terminal, answering
    python3 - "$ORGCTL" "$@" <<'PY'
import os, pty, sys
orgctl, answer, args = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(orgctl, [orgctl] + args)
buf = b""
while b"[y/N]" not in buf:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
os.write(fd, (answer + "\n").encode())
while True:
    try:
        if not os.read(fd, 1024):
            break
    except OSError:
        break
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
checks=$((checks + 1))
q=$(ask n org delete doomed) && fail "answering n deleted"
assert_match 'Delete org .doomed. with its 0 members' "$q" "the question names the org"
expect 0 org show doomed
checks=$((checks + 1))
ask y org delete doomed >/dev/null || fail "answering y did not delete"
expect 3 org show doomed
checks=$((checks + 1))
ask yes conn delete down >/dev/null || fail "answering yes did not delete the connection"
expect 3 conn show down

# ---- doctor ----------------------------------------------------------------

mkdir -p "$tmp/apache/mods-enabled"
printf 'OrgsStore %s\nOrgsCryptoKey file:%s\n' "$store" "$key" >"$tmp/apache/mods-enabled/auth_orgs.conf"
expect 0 doctor --apache-dir "$tmp/apache"
d=$(cat "$out")
assert_match '^ok +store .*format 3' "$d" "doctor: store format"
assert_match '^ok +key .*matches.*1 of 1 client secrets decrypt' "$d" "doctor: key"
assert_match "^ok +connection okta \($iss\): discovery and JWKS ok, 2 signing keys" "$d" "doctor: provider"
assert_match '^ok +httpd: OrgsStore' "$d" "doctor: httpd names this store"
assert_match '^ok +httpd: OrgsCryptoKey .*the same file' "$d" "doctor: httpd uses this key"
printf 'OrgsStore %s\nOrgsCryptoKey file:%s\n' "$store" "$key2" >"$tmp/apache/mods-enabled/auth_orgs.conf"
expect 1 doctor --apache-dir "$tmp/apache"
assert_match '^PROBLEM httpd: OrgsCryptoKey .* is not the key file' "$(cat "$out")" "doctor: another key in httpd"
expect 0 conn create gone --issuer "http://127.0.0.1:$closed" --client-id c --client-secret-file "$tmp/secret" --no-check
expect 1 doctor --apache-dir "$tmp/nowhere"
assert_match '^PROBLEM connection gone' "$(cat "$out")" "doctor: an unreachable provider"
expect 0 conn delete gone --yes

# ---- export carries the format ---------------------------------------------

expect 0 export
assert_match '^\{"type":"format","version":[0-9]+\}$' "$(head -1 "$out")" "export starts with its format"
cp "$out" "$tmp/export.jsonl"
mkdir "$tmp/imported"
expect 0 -s "$tmp/imported" import "$tmp/export.jsonl"
assert_match "^$(($(wc -l <"$tmp/export.jsonl") - 1)) objects imported" "$(cat "$out")" "the format line is not an object"
sed '1s/"version":[0-9]*/"version":999/' "$tmp/export.jsonl" >"$tmp/future.jsonl"
mkdir "$tmp/future"
expect 5 -s "$tmp/future" import "$tmp/future.jsonl"
assert_match 'format 999' "$(cat "$err")" "an export from a newer format is refused"

echo "orgctl ops: $((checks - failures)) passed, $failures failed ($checks checks)"
[ "$failures" -eq 0 ]
