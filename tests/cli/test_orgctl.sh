#!/usr/bin/env bash
# CLI tests for orgctl: every command, --json output, exit codes, one-line
# errors, secrets never shown, cascades, export/import, concurrent writers.
#
# Environment: ORGCTL = the built binary (automake sets it), top_srcdir.
# Every failed assertion prints one "FAIL:" line; the script exits non-zero
# if any failed.
set -u

ORGCTL=${ORGCTL:-./orgctl}
if [ ! -x "$ORGCTL" ]; then
    echo "FAIL: orgctl binary not found at '$ORGCTL' (set ORGCTL)"
    exit 1
fi
command -v python3 >/dev/null || { echo "SKIP: python3 needed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/orgctl-test-XXXXXX") || exit 1
bgpids=()
cleanup() {
    for pid in "${bgpids[@]}"; do kill "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

store=$tmp/store
mkdir "$store"
key=$tmp/key
(umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' >"$key")
secret="S3cret-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
secret2="Other-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
(umask 077 && printf '%s\n' "$secret" >"$tmp/secret")
export ORGS_STORE=$store ORGS_KEY_FILE=$key

out=$tmp/out
err=$tmp/err
all=$tmp/all-output # every byte orgctl printed, for the secret check
: >"$all"
failures=0
checks=0
rc=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run ARGS...: runs orgctl, keeps stdout in $out, stderr in $err, exit in $rc.
run() {
    "$ORGCTL" "$@" >"$out" 2>"$err"
    rc=$?
    cat "$out" "$err" >>"$all"
}

# expect RC ARGS...: runs orgctl and checks the exit code; a failure must
# print exactly one line "orgctl: <command>: <reason>" on stderr, a success
# nothing on stderr.
expect() {
    local want=$1
    shift
    run "$@"
    checks=$((checks + 1))
    if [ "$rc" -ne "$want" ]; then
        fail "orgctl $*: exit $rc, expected $want; stderr: $(head -c 300 "$err")"
        return 1
    fi
    if [ "$want" -eq 0 ]; then
        if [ -s "$err" ]; then
            fail "orgctl $*: succeeded but wrote to stderr: $(head -c 300 "$err")"
            return 1
        fi
    else
        local lines
        lines=$(wc -l <"$err")
        if [ "$lines" -ne 1 ] || ! grep -Eq '^orgctl: [a-z-]+( [a-z-]+)?: .+' "$err"; then
            fail "orgctl $*: expected one 'orgctl: <command>: <reason>' line, got $lines: $(head -c 300 "$err")"
            return 1
        fi
    fi
    return 0
}

# jq-like: evaluates a Python expression over the JSON in $out (as d).
j() {
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else v)' "$out" "$1" 2>&1
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
    checks=$((checks + 1))
    if [ "$1" != "$2" ]; then
        fail "$3: got '$1', expected '$2'"
    fi
}

# assert_match REGEX TEXT WHAT
assert_match() {
    checks=$((checks + 1))
    if ! printf '%s' "$2" | grep -Eq -- "$1"; then
        fail "$3: '$2' does not match /$1/"
    fi
}

# ---- help, version, usage --------------------------------------------------

expect 0 --help && assert_match 'org create NAME' "$(cat "$out")" "--help lists commands"
expect 0 help
expect 0 --version && assert_match '^orgctl .*[0-9]' "$(cat "$out")" "--version"
expect 0 org --help && assert_match 'org enable-conn' "$(cat "$out")" "org --help"
expect 0 org create --help
expect 2
expect 2 frobnicate
expect 2 org
expect 2 org frobnicate
expect 2 --bogus org list
expect 2 org list --bogus
expect 2 org list extra
expect 2 org create
expect 2 org show
expect 2 -s
expect 2 org create x --display-name
expect 2 org create x --display-name a --display-name b

# ---- no store --------------------------------------------------------------

(unset ORGS_STORE && expect 2 org list) || failures=$((failures + 1))
expect 5 -s "$tmp/nonexistent" org list
expect 5 -s "$tmp/nonexistent" org create x
mkdir "$tmp/empty"
expect 5 -s "$tmp/empty" org list
expect 5 -s "$tmp/empty" check
assert_eq "$(ls -A "$tmp/empty")" "" "a read command created files in an empty directory"

# ---- organizations ---------------------------------------------------------

expect 0 org create org1 --display-name "Org One" --meta license=premium --meta tier=gold \
    --domain Example.COM
org1=$(cat "$out")
assert_match '^org_[A-Za-z0-9]{16}$' "$org1" "org create prints only the id"
expect 4 org create org1
expect 4 org create org2 --domain example.com # a domain belongs to one org
expect 1 org create "Bad Name"
expect 1 org create org_abc
expect 1 org create x --domain "not a domain"
expect 1 org create x --meta "bad key=1"
expect 1 org create x --meta novalue
expect 0 --json org create org2 --domain org2.example
org2=$(j 'd["id"]')
assert_match '^org_' "$org2" "org create --json prints {\"id\": ...}"
# global options after the command, --opt=value form
expect 0 org create org3 --display-name=Three -s "$store"
expect 0 org list
assert_match '^NAME +ID +DISPLAY NAME +DOMAINS' "$(head -1 "$out")" "org list header"
assert_eq "$(grep -c '^org[123] ' "$out")" 3 "org list rows"
expect 0 org list --json
assert_eq "$(j '[o["name"] for o in d]')" '["org1", "org2", "org3"]' "org list --json sorted by name"
expect 0 --json org show org1
assert_eq "$(j 'd["id"]')" "$org1" "org show by name"
assert_eq "$(j 'd["display_name"]')" "Org One" "display name"
assert_eq "$(j 'd["metadata"]')" '{"license": "premium", "tier": "gold"}' "metadata"
assert_eq "$(j 'd["domains"]')" '["example.com"]' "domain lowercased"
assert_eq "$(j 'd["enabled_connections"]')" '[]' "no connections yet"
# one JSON shape per object (src/core/json.h)
assert_eq "$(j 'list(k for k in d if k != "enabled_connections")')" \
    '["id", "name", "display_name", "metadata", "domains", "created_at", "updated_at"]' "org JSON shape"
assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$' \
    "$(j 'd["created_at"]')" "created_at is RFC 3339 UTC"
expect 0 org show "$org1" --json
assert_eq "$(j 'd["name"]')" "org1" "org show by id"
expect 0 org show org1
assert_match 'license=premium' "$(cat "$out")" "org show (text) shows metadata"
expect 3 org show nosuch
expect 3 org show org_AAAAAAAAAAAAAAAA
expect 3 --json org show nosuch
assert_eq "$(cat "$out")" "" "nothing on stdout for a failed --json read"

expect 0 org update org1 --display-name "Org 1" --meta region=eu --unset-meta tier
expect 0 org show org1 --json
assert_eq "$(j 'd["display_name"]')" "Org 1" "updated display name"
assert_eq "$(j 'd["metadata"]')" '{"license": "premium", "region": "eu"}' "updated metadata"
expect 2 org update org1
expect 3 org update nosuch --display-name x
expect 3 org update org1 --unset-meta tier
expect 1 org update org1 --meta "1bad=x"
# a repeated key: the last value wins, on create and on update
expect 0 org create metadup --meta k=1 --meta k=2
expect 0 org show metadup --json
assert_eq "$(j 'd["metadata"]')" '{"k": "2"}' "repeated --meta on create"
expect 0 org delete metadup --yes
expect 0 org update org1 --meta region=us --meta region=eu
expect 0 org show org1 --json
assert_eq "$(j 'd["metadata"]')" '{"license": "premium", "region": "eu"}' "repeated --meta on update"

# branding: set, shown, kept by other updates, cleared; bad values refused
expect 0 org show org1 --json
assert_eq "$(j '"branding" in d')" "false" "no branding until set"
expect 0 org update org1 --logo-url https://cdn.example.com/logo.png --color-primary '#0B5CAD' \
    --color-background '#f2f6fb'
expect 0 org show org1 --json
assert_eq "$(j 'd["branding"]')" '{"logo_url": "https://cdn.example.com/logo.png", "colors": {"primary": "#0B5CAD", "page_background": "#f2f6fb"}}' "branding set"
expect 0 org update org1 --display-name "Org 1"
expect 0 org show org1
assert_match '^logo_url: +https://cdn.example.com/logo.png' "$(grep logo_url "$out")" "org show: logo_url"
assert_match '^color_primary: +#0B5CAD' "$(grep color_primary "$out")" "org show: color_primary"
expect 0 org update org1 --logo-url 'data:image/png;base64,iVBORw0KGgo=' --color-primary ''
expect 0 org show org1 --json
assert_eq "$(j 'd["branding"]')" '{"logo_url": "data:image/png;base64,iVBORw0KGgo=", "colors": {"primary": null, "page_background": "#f2f6fb"}}' "one colour cleared"
expect 1 org update org1 --logo-url http://cdn.example.com/logo.png
expect 1 org update org1 --logo-url 'javascript:alert(1)'
expect 1 org update org1 --logo-url 'https://cdn.example.com/a b.png'
expect 1 org update org1 --logo-url 'https://cdn.example.com/x;script-src *'
expect 1 org update org1 --logo-url 'data:text/html;base64,PGI+'
expect 1 org update org1 --logo-url 'data:image/png;base64,<script>'
expect 1 org update org1 --color-primary 'red'
expect 1 org update org1 --color-background '#fff;background:url(x)'
expect 1 org update org1 --color-primary '#12345g'
expect 0 org update org1 --logo-url '' --color-background ''
expect 0 org show org1 --json
assert_eq "$(j '"branding" in d')" "false" "branding cleared"

expect 0 org add-domain org1 example.org
expect 4 org add-domain org2 EXAMPLE.org
expect 1 org add-domain org2 "bad_domain"
expect 3 org add-domain nosuch example.net
expect 0 org remove-domain org1 Example.ORG
expect 3 org remove-domain org1 example.org
expect 0 org show org1 --json
assert_eq "$(j 'd["domains"]')" '["example.com"]' "domains after add/remove"
expect 0 org delete org3 --yes
expect 3 org delete org3 --yes

# ---- connections -----------------------------------------------------------

cc=(conn create okta --issuer https://idp.example.com --client-id client-1 --no-check)
(unset ORGS_KEY_FILE && expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" &&
    grep -q 'key' "$err") || fail "conn create without a key file must fail with a clear error"
expect 2 "${cc[@]}" # no secret
expect 2 "${cc[@]}" --client-secret "$secret" # never on argv
expect 2 "${cc[@]}" --client-secret-file "$tmp/secret" --client-secret-env SECRET_VAR
expect 1 "${cc[@]}" --client-secret-file "$tmp/missing"
expect 1 "${cc[@]}" --client-secret-env ORGCTL_TEST_UNSET_VAR
expect 1 conn create okta --issuer http://idp.example.com --client-id c \
    --client-secret-file "$tmp/secret" # http only on loopback
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --auth-method none
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --scopes "email profile"
grep -q 'openid' "$err" || fail "scopes without openid say so"
# the core's field rules (checks.h), the same the store applies
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --scopes 'openid "email"'
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --scopes 'openid a\b'
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --scopes "openid$(printf '\t')email"
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret" --scopes ''
expect 1 conn create okta --issuer https://idp.example.com --client-id "client 1" \
    --client-secret-file "$tmp/secret"
expect 1 conn create okta --issuer https://idp.example.com \
    --client-id "$(head -c 256 /dev/zero | tr '\0' c)" --client-secret-file "$tmp/secret"
printf '\n \n' >"$tmp/secret-empty"
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret-empty"
printf 'ab\000cd\n' >"$tmp/secret-nul"
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret-nul"
grep -q 'NUL' "$err" || fail "a secret with a NUL byte says so"
printf 'ab\tcd\n' >"$tmp/secret-tab"
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret-tab"
head -c 1025 /dev/zero | tr '\0' s >"$tmp/secret-long"
expect 1 "${cc[@]}" --client-secret-file "$tmp/secret-long"
LONG_SECRET=$(cat "$tmp/secret-long") expect 1 "${cc[@]}" --client-secret-env LONG_SECRET
{ head -c 1024 /dev/zero | tr '\0' s && printf '\r\n'; } >"$tmp/secret-max"
expect 0 conn create edge --issuer https://idp.example.com --client-id c --no-check \
    --client-secret-file "$tmp/secret-max" # the longest secret, its line end dropped
expect 0 conn delete edge --yes
expect 2 conn create okta --client-id c --client-secret-file "$tmp/secret"
expect 0 "${cc[@]}" --client-secret-file "$tmp/secret" --display-name "Okta"
okta=$(cat "$out")
assert_match '^con_[A-Za-z0-9]{16}$' "$okta" "conn create prints only the id"
expect 4 "${cc[@]}" --client-secret-file "$tmp/secret"
SECRET_VAR=$secret2 expect 0 conn create azure --issuer http://127.0.0.1:9/ --client-id c2 --no-check \
    --client-secret-env SECRET_VAR --scopes "openid email" --auth-method client_secret_post
expect 0 conn list
assert_match '^NAME +ID +ISSUER' "$(head -1 "$out")" "conn list header"
expect 0 conn list --json
assert_eq "$(j '[c["name"] for c in d]')" '["azure", "okta"]' "conn list --json"
expect 0 conn show okta
assert_match 'client_secret: +\(set\)' "$(cat "$out")" "conn show prints client_secret: (set)"
expect 0 conn show "$okta" --json
assert_eq "$(j 'd["client_id"]')" "client-1" "conn show --json client_id"
assert_eq "$(j 'd["scopes"]')" "openid email profile" "default scopes"
assert_eq "$(j 'd["auth_method"]')" "client_secret_basic" "default auth method"
assert_eq "$(j '"client_secret" in d')" "false" "no client_secret in JSON"
assert_eq "$(j 'list(k for k in d if k != "organizations")')" \
    '["id", "name", "display_name", "issuer", "client_id", "client_secret_set", "scopes", "auth_method", "created_at", "updated_at"]' \
    "connection JSON shape"
expect 3 conn show nosuch
SECRET_VAR=$secret2 expect 0 conn update okta --client-secret-env SECRET_VAR --scopes "openid email"
expect 0 conn show okta --json
assert_eq "$(j 'd["scopes"]')" "openid email" "conn update scopes"
expect 2 conn update okta
expect 3 conn update nosuch --client-id x
(unset ORGS_KEY_FILE && expect 0 conn update okta --display-name "Okta SSO") ||
    fail "conn update without a secret must not need the key"
(unset ORGS_KEY_FILE && expect 1 conn update okta --client-secret-file "$tmp/secret") ||
    fail "conn update of the secret without a key must fail"

# endpoint hosts of one connection: set, shown, replaced, cleared; bad ones refused
expect 0 conn show azure --json
assert_eq "$(j '"allowed_endpoint_hosts" in d')" "false" "no endpoint hosts until set"
expect 0 conn update azure --allow-endpoint-host Keys.Example.NET --allow-endpoint-host 192.0.2.7 \
    --allow-endpoint-host keys.example.net
expect 0 conn show azure --json
assert_eq "$(j 'd["allowed_endpoint_hosts"]')" '["192.0.2.7", "keys.example.net"]' \
    "endpoint hosts set, lowercased, sorted, without repeats"
expect 0 conn show azure
assert_match 'endpoint_hosts: +192\.0\.2\.7 +keys\.example\.net' "$(tr '\n' ' ' <"$out")" \
    "conn show lists the endpoint hosts"
expect 0 conn update azure --display-name "Azure"
expect 0 conn show azure --json
assert_eq "$(j 'd["allowed_endpoint_hosts"]')" '["192.0.2.7", "keys.example.net"]' \
    "another update keeps the endpoint hosts"
for bad in https://keys.example.net keys.example.net:443 keys.example.net/jwks 10.0.0.0/8 "a b"; do
    expect 1 conn update azure --allow-endpoint-host "$bad"
    assert_match 'endpoint host' "$(cat "$err")" "bad endpoint host '$bad' refused"
done
expect 2 conn update azure --allow-endpoint-host a.example --clear-endpoint-hosts
expect 0 conn update azure --clear-endpoint-hosts
expect 0 conn show azure --json
assert_eq "$(j '"allowed_endpoint_hosts" in d')" "false" "endpoint hosts cleared"
expect 0 conn update azure --allow-endpoint-host keys.azure.example

# ---- enablement ------------------------------------------------------------

expect 0 org enable-conn org1 okta --auto-membership
expect 0 org enable-conn org1 azure
expect 0 org enable-conn org2 okta
expect 3 org enable-conn org1 nosuch
expect 3 org enable-conn nosuch okta
expect 0 org show org1 --json
assert_eq "$(j '[(c["name"], c["auto_membership"]) for c in d["enabled_connections"]]')" \
    '[["azure", false], ["okta", true]]' "enabled connections"
assert_eq "$(j '[c["connection_id"] == "'"$okta"'" for c in d["enabled_connections"] if c["name"] == "okta"]')" \
    '[true]' "enabled connection JSON names its connection_id"
expect 0 conn show okta --json
assert_eq "$(j 'sorted(o["name"] for o in d["organizations"])')" '["org1", "org2"]' \
    "conn show lists its orgs"
expect 0 org disable-conn org1 azure
expect 3 org disable-conn org1 azure
expect 0 org show org1 --json
assert_eq "$(j 'len(d["enabled_connections"])')" 1 "disable-conn"

# ---- users and members -----------------------------------------------------

# member add by email before the first sign-in
expect 0 member add org1 --connection okta --email Alice@Example.COM --role admin
alice=$(cat "$out")
assert_match '^usr_[A-Za-z0-9]{16}$' "$alice" "member add prints the user id"
expect 4 member add org1 "$alice"
expect 2 member add org1 "$alice" --connection okta
expect 2 member add org1 --connection okta
expect 2 member add org1 --connection okta --email a@example.com --sub x
expect 2 member add org1
expect 1 member add org1 --connection okta --email not-an-email
expect 1 member add org1 --connection okta --email b@example.com --role "bad role"
expect 1 member add org1 --connection okta --sub "$(head -c 256 /dev/zero | tr '\0' s)"
expect 1 member add org1 --connection okta --sub "$(printf 'a\tb')"
expect 3 member add org1 --connection nosuch --email b@example.com
expect 3 member add nosuch --connection okta --email b@example.com
expect 3 member add org1 usr_AAAAAAAAAAAAAAAA
expect 0 member add org1 --connection okta --sub sub-123
bysub=$(cat "$out")
expect 0 member add org2 "$alice" --role viewer # collaboration across orgs
expect 0 member list org1 --json
assert_eq "$(j 'len(d)')" 2 "member list org1"
assert_eq "$(j '[k for k in d[0]][:4]')" '["org_id", "user_id", "roles", "created_at"]' \
    "member JSON shape"
assert_eq "$(j 'all(m["org_id"] == "'"$org1"'" for m in d)')" "true" "member JSON names its org"
assert_eq "$(j '[m["roles"] for m in d if m["user_id"] == "'"$alice"'"][0]')" '["admin"]' "roles"
assert_eq "$(j '[m["email"] for m in d if m["user_id"] == "'"$alice"'"][0]')" \
    "Alice@example.com" "email domain lowercased"
expect 0 member list org1
assert_match '^USER +EMAIL' "$(head -1 "$out")" "member list header"
expect 3 member list nosuch
expect 0 user list --json
assert_eq "$(j 'len(d)')" 2 "user list"
expect 0 user list --email Alice@EXAMPLE.com --json
assert_eq "$(j '[u["id"] for u in d]')" "[\"$alice\"]" "user list --email"
expect 0 user list
assert_match '^ID +CONNECTION +EMAIL' "$(head -1 "$out")" "user list header"
expect 1 user list --email nope
expect 0 user show "$alice" --json
assert_eq "$(j 'd["connection"]')" "okta" "user show connection"
assert_eq "$(j 'sorted(o["org_name"] for o in d["organizations"])')" '["org1", "org2"]' \
    "user show memberships"
assert_eq "$(j 'd["last_login"]')" "null" "never signed in"
assert_eq "$(j '[k for k in d][:7]')" \
    '["id", "connection_id", "sub", "email", "name", "created_at", "last_login"]' "user JSON shape"
assert_eq "$(j 'all(o["user_id"] == d["id"] and "created_at" in o for o in d["organizations"])')" \
    "true" "user show organizations are member objects"
expect 0 user show "$alice"
expect 3 user show usr_AAAAAAAAAAAAAAAA

expect 0 role add org1 "$alice" billing viewer
expect 0 role remove org1 "$alice" viewer
expect 0 member list org1 --json
assert_eq "$(j '[m["roles"] for m in d if m["user_id"] == "'"$alice"'"][0]')" \
    '["admin", "billing"]' "role add/remove"
expect 1 role add org1 "$alice" "bad role"
expect 3 role add nosuch "$alice" x
expect 2 role add org1 "$alice"

expect 0 member remove org1 --connection okta --email Alice@example.com
expect 3 member remove org1 "$alice"
expect 2 member remove org1
expect 2 member remove org1 "$alice" --connection okta --email Alice@example.com
expect 3 member remove org1 --connection okta --email nobody@example.com
expect 0 member list org1 --json
assert_eq "$(j '[m["user_id"] for m in d]')" "[\"$bysub\"]" "member remove"

# ---- invitations -------------------------------------------------------------

expect 0 invite create org1 bob@example.com --role admin --ttl 3d --url https://app.example/orgs/login
inv=$(head -1 "$out")
url=$(sed -n 2p "$out")
assert_match '^inv_' "$inv" "invite create prints the id"
assert_match '^https://app\.example/orgs/login\?invitation=[A-Za-z0-9_-]{43}&organization=org1$' "$url" \
    "invite create prints the invitation URL"
ticket=${url#*invitation=}
ticket=${ticket%%&*}
assert_eq "$(grep -cF -- "$ticket" "$store/data.mdb")" 0 "the ticket itself is not stored"
expect 0 invite list org1 --json
assert_eq "$(j '[i["email"] for i in d]')" '["bob@example.com"]' "invite list"
assert_eq "$(j '[list(i) for i in d]')" \
    '[["id", "org_id", "email", "roles", "created_at", "expires_at", "inviter", "any_email"]]' \
    "invitation JSON shape"
assert_match '^orgctl:' "$(j 'd[0]["inviter"]')" "the inviter defaults to orgctl:USER"
assert_eq "$(j 'd[0]["roles"]')" '["admin"]' "invitation roles"
expect 0 invite list org1
expect 0 --json invite create org1 carol@example.com --inviter "Jane Admin" --any-email
assert_eq "$(j 'd["inviter"]')" "Jane Admin" "--inviter"
assert_eq "$(j 'd["any_email"]')" "true" "--any-email"
assert_match '^/orgs/login\?invitation=.*&organization=org1$' "$(j 'd["url"]')" "default login URL"
assert_eq "$(j 'd["ticket"] != "" and d["ticket"] not in d["id"]')" "true" "ticket apart from the id"
inv2=$(j 'd["id"]')
exp_days=$(j '(__import__("datetime").datetime.fromisoformat(d["expires_at"].replace("Z","+00:00")) - __import__("datetime").datetime.fromisoformat(d["created_at"].replace("Z","+00:00"))).days')
assert_eq "$exp_days" 7 "an invitation lives 7 days by default"
expect 0 invite revoke "$inv"
expect 3 invite revoke "$inv"
expect 0 invite revoke "$inv2"
expect 1 invite create org1 not-an-email
expect 1 invite create org1 bob@example.com --ttl forever
expect 1 invite create org1 bob@example.com --ttl 31d
expect 3 invite create nosuchorg bob@example.com
expect 2 invite create org1

# ---- admin API tokens -------------------------------------------------------

expect 0 token create --scope read --expires 1d --name reporting
tok=$(cat "$out")
assert_match '^tok_[A-Za-z0-9]{16}[.][A-Za-z0-9_-]{43}$' "$tok" "token create prints the token"
expect 0 token list --json
assert_eq "$(j '[t["id"] for t in d]')" "[\"${tok%%.*}\"]" "token list"
assert_eq "$(j '[t["scopes"] for t in d]')" '[["read"]]' "token scopes"
if grep -qF -- "${tok#*.}" "$out"; then fail "token list shows the secret"; fi
expect 0 token list
if grep -qF -- "${tok#*.}" "$out"; then fail "token list shows the secret"; fi
expect 0 token revoke "${tok%%.*}"
expect 3 token revoke "${tok%%.*}"
expect 1 token create --scope admin
expect 1 token create --expires forever
expect 2 token revoke

# ---- audit log and usage ------------------------------------------------------

expect 0 audit --json --limit 10000
assert_match '"org.create"' "$(cat "$out")" "org create is audited"
assert_match '"invitation.revoke"' "$(cat "$out")" "invite revoke is audited"
assert_match '"member.add"' "$(cat "$out")" "member add is audited"
assert_match '"connection.create"' "$(cat "$out")" "conn create is audited"
assert_eq "$(j 'all(r["actor"].startswith("orgctl:") for r in d["records"])')" "true" \
    "orgctl's records name orgctl:USER"
assert_eq "$(j 'sorted(set(r["from"] for r in d["records"]))')" '["shell"]' "from the shell"
assert_eq "$(j '[r["id"] for r in d["records"]] == sorted(r["id"] for r in d["records"])')" \
    "true" "records in time order"
assert_eq "$(grep -c "$secret" "$out")" 0 "no client secret in the audit log"
expect 0 org update org1 --meta audited=yes
expect 0 audit --json --org org1 --since 1h
assert_eq "$(j 'd["records"][-1]["action"]')" "org.update" "audit --org: the last change"
assert_eq "$(j '"audited" in json.dumps(d["records"][-1]["after"]) and "audited" not in json.dumps(d["records"][-1]["before"])')" \
    "true" "before and after"
assert_eq "$(j 'all(r["org_id"] == d["records"][0]["org_id"] for r in d["records"])')" "true" \
    "audit --org shows that org only"
expect 0 audit --json --org org1 --limit 1
first=$(j 'd["records"][0]["id"]')
next=$(j 'd["next"]')
assert_eq "$first" "$next" "one record a page: next is its id"
expect 0 audit --json --org org1 --limit 1 --from "$next"
assert_eq "$(j 'd["records"][0]["id"] > "'"$first"'"')" "true" "--from goes on after the page"
expect 0 audit --since 2000-01-01
expect 0 audit
expect 1 audit --since yesterday-ish
expect 1 audit --limit 0
expect 1 audit --from nothex
expect 3 audit --org nosuchorg
expect 0 --json prune-audit --older-than 3650d
assert_eq "$(j 'd["removed"]')" 0 "nothing that old to prune"
expect 2 prune-audit
expect 0 org stats org1
expect 0 --json org stats org1 --days 7
assert_eq "$(j 'len(d["per_day"])')" 7 "stats: one entry per day"
assert_eq "$(j 'd["signins"]')" 0 "stats: no sign-in yet"
assert_eq "$(j 'd["members"] >= 1')" "true" "stats: members counted"
expect 1 org stats org1 --days 0
expect 1 org stats org1 --days 401
expect 3 org stats nosuchorg

# ---- consistency, secrets --------------------------------------------------

expect 0 check
assert_match "store consistent\$" "$(tail -1 "$out")" "check on a good store"
assert_match "^key: matches" "$(head -1 "$out")" "check verifies the key"
assert_match "^secrets: 2 of 2 decrypt" "$(sed -n 2p "$out")" "check counts the secrets that decrypt"
expect 0 check --json
assert_eq "$(j 'd["consistent"]')" "true" "check --json"

# ---- export / import -------------------------------------------------------

expect 0 export "$tmp/backup.jsonl"
assert_eq "$(stat -c %a "$tmp/backup.jsonl")" 600 "export file mode"
expect 0 export
cp "$out" "$tmp/backup-stdout.jsonl"
cmp -s "$tmp/backup.jsonl" "$tmp/backup-stdout.jsonl" || fail "export FILE and export to stdout differ"
python3 -c 'import json,sys
for n, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    assert "type" in o, "line %d has no type" % n' "$tmp/backup.jsonl" ||
    fail "export is not JSON Lines with a type on every line"
mkdir "$tmp/store2"
expect 0 -s "$tmp/store2" import "$tmp/backup.jsonl"
expect 4 -s "$tmp/store2" import "$tmp/backup.jsonl" # ids exist: conflict, nothing written
expect 0 -s "$tmp/store2" check
mkdir "$tmp/store3"
"$ORGCTL" -s "$tmp/store3" import <"$tmp/backup.jsonl" >"$out" 2>"$err" ||
    fail "import from stdin failed: $(cat "$err")"
for cmd in "org list" "conn list" "user list" "member list org1" "org show org1"; do
    # shellcheck disable=SC2086
    a=$("$ORGCTL" --json $cmd 2>&1)
    # shellcheck disable=SC2086
    b=$("$ORGCTL" -s "$tmp/store2" --json $cmd 2>&1)
    # shellcheck disable=SC2086
    c3=$("$ORGCTL" -s "$tmp/store3" --json $cmd 2>&1)
    checks=$((checks + 1))
    if [ "$a" != "$b" ] || [ "$a" != "$c3" ]; then
        fail "'$cmd --json' differs after export/import"
    fi
done
# the connection's endpoint hosts travel with it
expect 0 -s "$tmp/store2" conn show azure --json
assert_eq "$(j 'd["allowed_endpoint_hosts"]')" '["keys.azure.example"]' \
    "endpoint hosts after export/import"
echo '{"type": "nonsense"' >"$tmp/bad.jsonl"
mkdir "$tmp/store4"
expect 1 -s "$tmp/store4" import "$tmp/bad.jsonl"
expect 1 import "$tmp/does-not-exist.jsonl"

# the secret appears in no output and not in plaintext in the store
checks=$((checks + 1))
if grep -qF -- "$secret" "$all" || grep -qF -- "$secret2" "$all"; then
    fail "a client secret appeared in orgctl output"
fi
for f in "$store/data.mdb" "$tmp/store2/data.mdb" "$tmp/backup.jsonl"; do
    checks=$((checks + 1))
    n=$(grep -caF -- "$secret" "$f")
    n2=$(grep -caF -- "$secret2" "$f")
    if [ "$n" -ne 0 ] || [ "$n2" -ne 0 ]; then
        fail "client secret in plaintext in $f"
    fi
done

# ---- cascades --------------------------------------------------------------

expect 0 org delete org1 --yes
expect 3 org show org1
expect 3 member list org1
expect 0 user show "$alice" --json
assert_eq "$(j '[o["org_name"] for o in d["organizations"]]')" '["org2"]' "org delete cascades memberships"
expect 0 check
expect 0 conn delete okta --yes
expect 3 conn show okta
expect 3 user show "$alice" # users of a deleted connection go too
expect 0 org show org2 --json
assert_eq "$(j 'd["enabled_connections"]')" '[]' "conn delete cascades enablements"
expect 0 check
expect 0 user list --json
assert_eq "$(j 'len(d)')" 0 "no users left"
expect 0 -s "$tmp/store2" user delete "$alice"
expect 3 -s "$tmp/store2" user delete "$alice"
expect 0 -s "$tmp/store2" check

# ---- user purge: users without membership, unused for a while ---------------

expect 2 user purge
expect 2 user purge extra --older-than 1d
expect 1 user purge --older-than forever
expect 0 conn create purgeidp --no-check --issuer https://idp.example.com --client-id c \
    --client-secret-file "$tmp/secret"
expect 0 org create purgeorg
expect 0 member add purgeorg --connection purgeidp --email kept@example.com
expect 0 member add purgeorg --connection purgeidp --email gone@example.com
gone=$(cat "$out")
expect 0 member remove purgeorg "$gone"
expect 0 user purge --older-than 1d
assert_eq "$(cat "$out")" 0 "a user created now is not purged"
sleep 1.2
expect 0 user purge --older-than 1s --json
assert_eq "$(j 'd["removed"]')" 1 "the user without membership is purged"
expect 3 user show "$gone"
expect 0 user list --json
assert_eq "$(j 'len(d)')" 1 "the member is kept"
expect 0 check

# ---- a full store ------------------------------------------------------------

mkdir "$tmp/small"
big=$(head -c 240 /dev/zero | tr '\0' v)
meta=()
for k in $(seq 1 25); do meta+=(--meta "k$k=$big"); done
full=0
for i in $(seq 1 2000); do
    "$ORGCTL" -s "$tmp/small" --max-size 1M org create "o$i" "${meta[@]}" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        full=$i
        break
    fi
done
checks=$((checks + 1))
if [ "$full" -eq 0 ]; then
    fail "a 1M store never filled up"
else
    assert_eq "$rc" 5 "a full store exits 5"
    assert_match 'max-size' "$(cat "$err")" "a full store says to grow --max-size"
    expect 0 -s "$tmp/small" --max-size 4M org create "o$full" "${meta[@]}"
    expect 0 -s "$tmp/small" --max-size 4M check
fi
expect 2 --max-size lots org list

# ---- issuer change: users are bound to the issuer ---------------------------

expect 0 org create issorg
expect 0 conn create iss1 --no-check --issuer https://old-idp.example.com --client-id c1 \
    --client-secret-file "$tmp/secret"
expect 0 conn update iss1 --no-check --issuer https://idp2.example.com
expect 0 org enable-conn issorg iss1 --auto-membership
expect 0 member add issorg --connection iss1 --sub old-sub-1 --role admin
issuser=$(cat "$out")
expect 4 conn update iss1 --no-check --issuer https://evil-idp.example.com
assert_match 'migrate-users' "$(cat "$err")" "issuer change with users names the options"
expect 0 conn show iss1 --json
assert_eq "$(j 'd["issuer"]')" "https://idp2.example.com" "refused issuer change wrote nothing"
expect 2 conn update iss1 --no-check --issuer https://x.example.com --migrate-users --drop-users
expect 2 conn update iss1 --display-name X --migrate-users
expect 0 conn update iss1 --no-check --issuer https://idp3.example.com --migrate-users
expect 0 user show "$issuser"
expect 0 conn update iss1 --no-check --issuer https://idp4.example.com --drop-users
expect 3 user show "$issuser"
expect 0 conn show iss1 --json
assert_eq "$(j 'd["issuer"]')" "https://idp4.example.com" "issuer changed after --drop-users"

# ---- auto-membership on an issuer shared by many companies ------------------

expect 0 conn create google --no-check --issuer https://accounts.google.com --client-id g1 \
    --client-secret-file "$tmp/secret"
expect 0 org enable-conn issorg google # no warning without auto-membership
run org enable-conn issorg google --auto-membership
assert_eq "$rc" 0 "auto-membership on a shared issuer succeeds"
assert_match "warning: .*'google' uses https://accounts.google.com, an issuer shared by many companies" \
    "$(cat "$err")" "auto-membership on a shared issuer warns"
expect 0 org enable-conn issorg iss1 --auto-membership # a tenant's own issuer: no warning
expect 0 org enable-conn issorg google --auto-membership --require-claim hd=org1.example.com
expect 0 org show issorg --json
assert_eq "$(j '[c["auto_membership_condition"] for c in d["enabled_connections"] if c["name"] == "google"]')" \
    '["claim:hd=org1.example.com"]' "enable-conn --require-claim is stored"
expect 0 org show issorg
assert_match 'google \(auto-membership if claim:hd=org1.example.com\)' "$(cat "$out")" \
    "org show prints the condition"
expect 0 org enable-conn issorg google --auto-membership --require-email-domain
expect 0 org show issorg --json
assert_eq "$(j '[c["auto_membership_condition"] for c in d["enabled_connections"] if c["name"] == "google"]')" \
    '["email-domain"]' "enable-conn --require-email-domain is stored"
expect 2 org enable-conn issorg google --require-claim hd=x
expect 2 org enable-conn issorg google --auto-membership --require-claim hd=x --require-email-domain
expect 1 org enable-conn issorg google --auto-membership --require-claim hd
expect 1 org enable-conn issorg google --auto-membership --require-claim 'h d=x'
expect 0 org enable-conn issorg google
expect 0 org show issorg --json
assert_eq "$(j '[c["auto_membership_condition"] for c in d["enabled_connections"] if c["name"] == "google"]')" \
    '[null]' "enable-conn without a condition clears it"
# ---- revocation on a full store ---------------------------------------------
# Inserts stop at a soft limit; deletes and revocations use the reserve.

rv=$tmp/revoke
mkdir "$rv"
expect 0 -s "$rv" --max-size 1M org create keep
expect 0 -s "$rv" --max-size 1M conn create idp --no-check --issuer https://idp.example.com --client-id c \
    --client-secret-file "$tmp/secret"
expect 0 -s "$rv" --max-size 1M org enable-conn keep idp
expect 0 -s "$rv" --max-size 1M member add keep --connection idp --email a@example.com
rv_user=$(cat "$out")
expect 0 -s "$rv" --max-size 1M member add keep --connection idp --email b@example.com
rv_user2=$(cat "$out")
for i in $(seq 1 2000); do
    "$ORGCTL" -s "$rv" org create "f$i" "${meta[@]}" >"$out" 2>"$err" || break
done
assert_match 'store is full' "$(cat "$err")" "inserts refused on a full store"
expect 5 -s "$rv" member add keep --connection idp --email c@example.com
expect 0 -s "$rv" member remove keep "$rv_user"
expect 0 -s "$rv" user delete "$rv_user2"
expect 0 -s "$rv" org disable-conn keep idp
expect 0 -s "$rv" org delete f1 --yes
expect 0 -s "$rv" check

# ---- the map size is the one the store records ------------------------------

ms=$tmp/mapsize
mkdir "$ms"
expect 0 -s "$ms" --max-size 8M org create m1
expect 0 -s "$ms" org create m2
assert_match 'Map size: 8388608' "$(mdb_stat -e "$ms")" "orgctl without --max-size keeps the recorded size"
python3 - "$tmp/big.jsonl" <<'PY'
import json, random, string, sys
with open(sys.argv[1], 'w') as f:
    for i in range(250):
        oid = 'org_' + ''.join(random.choice(string.ascii_letters + string.digits) for _ in range(16))
        meta = {'k%d' % k: 'v' * 240 for k in range(25)}
        f.write(json.dumps({'type': 'org', 'id': oid, 'name': 'big%d' % i, 'display_name': 'b',
                            'metadata': meta, 'domains': [], 'created_at': '2026-01-01T00:00:00Z',
                            'updated_at': '2026-01-01T00:00:00Z'}) + '\n')
PY
expect 0 -s "$ms" import "$tmp/big.jsonl"
expect 5 -s "$ms" --max-size 1M org create m3
assert_match 'cannot shrink' "$(cat "$err")" "--max-size below the data is refused"

# Running httpd records what its children map (OrgsStoreMaxSize) in
# httpd-map-size and holds it locked: --max-size beyond it is refused while
# the record is held, ignored once nobody holds it (httpd stopped).
printf '%020d %010d\n' 16777216 4242 >"$ms/httpd-map-size"
expect 0 -s "$ms" --max-size 32M org create grown-while-stopped
exec 9<"$ms/httpd-map-size" # held as httpd holds it: a shared lock
flock -s 9
expect 5 -s "$ms" --max-size 64M org create too-big
assert_match 'raise OrgsStoreMaxSize to at least 64M and reload httpd \(apachectl graceful\), then rerun' \
    "$(cat "$err")" "--max-size beyond running httpd's map says what to do"
assert_match 'pid 4242.*OrgsStoreMaxSize 16M' "$(cat "$err")" "the refusal names httpd's size"
expect 3 -s "$ms" org show too-big
expect 0 -s "$ms" --max-size 16M org create within-httpd
expect 0 -s "$ms" --max-size 64M --force org create forced
expect 0 -s "$ms" --max-size 64M org list # reads record nothing
expect 2 -s "$ms" --force org list
assert_match 'only with --max-size' "$(cat "$err")" "--force alone is a usage error"
exec 9<&- # httpd stopped
expect 0 -s "$ms" --max-size 64M org create after-httpd-stopped

# ---- damaged and foreign files ------------------------------------------------

tr_dir=$tmp/truncated
mkdir "$tr_dir"
cp "$ms/data.mdb" "$tr_dir/data.mdb"
truncate -s 40000 "$tr_dir/data.mdb"
expect 5 -s "$tr_dir" check
assert_match 'truncated' "$(cat "$err")" "a truncated data.mdb is named as such"
expect 5 -s "$tr_dir" org list
expect 5 -s "$tr_dir" org create t1

aborted=0
for seed in 1 2 3 4 5 6 7 8 9 10; do
    dd=$tmp/damaged-$seed
    mkdir "$dd"
    cp "$ms/data.mdb" "$dd/data.mdb"
    python3 - "$dd/data.mdb" "$seed" <<'PY'
import random, sys
random.seed(int(sys.argv[2]))
with open(sys.argv[1], 'r+b') as f:
    d = bytearray(f.read())
    n = len(d) // 4096
    pg = random.randrange(2, n)
    for _ in range(64):
        d[pg * 4096 + random.randrange(4096)] = random.randrange(256)
    f.seek(0)
    f.write(d)
PY
    "$ORGCTL" -s "$dd" check --deep >"$out" 2>"$err"
    rc=$?
    cat "$out" "$err" >>"$all"
    # a damaged copy may read as consistent (the damage hit free space);
    # it must never kill orgctl (>= 128) or print more than one error line
    if [ "$rc" -ge 128 ] || [ "$(wc -l <"$err")" -gt 1 ]; then
        aborted=$((aborted + 1))
        echo "damaged copy $seed: exit $rc: $(head -c 300 "$err")"
    fi
done
checks=$((checks + 1))
assert_eq "$aborted" 0 "orgctl check --deep on damaged copies reports, never aborts"

fo=$tmp/foreign
mkdir "$fo"
printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n key1\n value1\nDATA=END\n' |
    mdb_load -s other "$fo"
expect 5 -s "$fo" org create intruder
assert_match "another application" "$(cat "$err")" "another application's LMDB is refused"
assert_eq "$(mdb_stat -s other "$fo" >/dev/null 2>&1 && mdb_dump -a "$fo" 2>/dev/null | grep -c '^database=')" 1 \
    "nothing was added to another application's LMDB"

# ---- import refuses duplicate keys ----------------------------------------------

dup=$tmp/dup
mkdir "$dup"
printf '{"type":"org","id":"org_AAAAAAAAAAAAAAAA","name":"a","name":"b","display_name":"x"}\n' >"$tmp/dup.jsonl"
expect 1 -s "$dup" import "$tmp/dup.jsonl"
assert_match 'duplicate' "$(cat "$err")" "import refuses a duplicate JSON key"

# ---- backup while writing, restore --------------------------------------------

bk=$tmp/bk
mkdir "$bk"
expect 0 -s "$bk" org create before
(for i in $(seq 1 30); do "$ORGCTL" -s "$bk" org create "w$i" >/dev/null 2>&1; done) &
bgpids+=($!)
expect 0 -s "$bk" backup "$tmp/bk.mdb"
wait "${bgpids[@]}"
bgpids=()
assert_eq "$(stat -c %a "$tmp/bk.mdb")" 600 "backup file mode"
expect 0 -s "$bk" org create after
# a process holding the store open (LMDB's shared lock) blocks a restore
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+b"); fcntl.lockf(f, fcntl.LOCK_SH, 1, 0)
open(sys.argv[2], "w").close(); time.sleep(30)' "$bk/lock.mdb" "$tmp/locked" &
holder=$!
for i in $(seq 1 100); do [ -e "$tmp/locked" ] && break; sleep 0.1; done
expect 5 -s "$bk" restore "$tmp/bk.mdb"
assert_match 'open in another process' "$(cat "$err")" "restore refused while the store is open"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
expect 0 -s "$bk" restore "$tmp/bk.mdb"
expect 0 -s "$bk" org show before
expect 3 -s "$bk" org show after
expect 0 -s "$bk" check
expect 0 -s "$bk" org create after-restore
expect 5 -s "$bk" restore "$tr_dir/data.mdb"
expect 0 -s "$bk" org show after-restore

# ---- concurrent writers ----------------------------------------------------

mkdir "$tmp/conc"
for w in 1 2 3 4; do
    (
        bad=0
        for i in $(seq 1 50); do
            "$ORGCTL" -s "$tmp/conc" org create "w$w-o$i" --domain "o$i.w$w.example" \
                >/dev/null 2>>"$tmp/conc-err" || bad=$((bad + 1))
        done
        exit "$bad"
    ) &
    bgpids+=($!)
done
cfail=0
for pid in "${bgpids[@]}"; do
    wait "$pid" || cfail=$((cfail + 1))
done
bgpids=()
assert_eq "$cfail" 0 "concurrent org create loops (errors: $(head -c 300 "$tmp/conc-err" 2>/dev/null))"
expect 0 -s "$tmp/conc" org list --json
assert_eq "$(j 'len(d)')" 200 "all 200 concurrently created orgs present"
assert_eq "$(j 'len(set(o["id"] for o in d))')" 200 "200 distinct ids"
expect 0 -s "$tmp/conc" check

echo "orgctl cli: $((checks - failures)) passed, $failures failed ($checks checks)"
[ "$failures" -eq 0 ]
