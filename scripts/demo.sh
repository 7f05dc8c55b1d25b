#!/usr/bin/env bash
# The mod_auth_orgs demo in one command: installs what is missing
# (scripts/setup.sh), builds (scripts/build.sh), creates a fresh state
# directory run/demo (key, store, httpd.conf, logs), seeds the store with
# two organizations and two connections, starts the two local OpenID
# Providers and httpd, prints the URLs and the demo users, and waits for
# Ctrl-C. Everything it started is stopped by PID on exit.
#
#   scripts/demo.sh           run the demo until Ctrl-C
#   scripts/demo.sh --check   start everything, check the login redirects
#                             and a full sign-in with curl, stop, exit 0/1
#
# Environment: DEMO_PORT (8080), DEMO_IDP1_PORT (9011), DEMO_IDP2_PORT
# (9012), BUILD_DIR (build/), DEMO_STATE_DIR (run/demo), DEMO_SETUP=0 to
# skip scripts/setup.sh, APACHE2 (/usr/sbin/apache2), APACHE_MODULES_DIR
# (/usr/lib/apache2/modules).
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

top=$(cd "$(dirname "$0")/.." && pwd)
mode=run
case "${1:-}" in
"") ;;
--check) mode=check ;;
-h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

port=${DEMO_PORT:-8080}
idp1_port=${DEMO_IDP1_PORT:-9011}
idp2_port=${DEMO_IDP2_PORT:-9012}
state=${DEMO_STATE_DIR:-$top/run/demo}
apache2=${APACHE2:-/usr/sbin/apache2}
modules_dir=${APACHE_MODULES_DIR:-/usr/lib/apache2/modules}
base=http://127.0.0.1:$port
idp1=http://127.0.0.1:$idp1_port
idp2=http://127.0.0.1:$idp2_port
web_user=www-data

say() { printf 'demo: %s\n' "$*"; }
die() {
    printf 'demo: %s\n' "$*" >&2
    exit 1
}

# ---- processes we start, stopped by PID ------------------------------------

pids=()
names=()

stop_all() {
    local i pid _
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "${names[i]} (pid $pid) did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    names=()
}

on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [ ${#pids[@]} -gt 0 ]; then
        say "stopping ${names[*]}"
        stop_all
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- build ----------------------------------------------------------------

[ "${DEMO_SETUP:-1}" = 0 ] || bash "$top/scripts/setup.sh"
build=$(bash "$top/scripts/build.sh") || die "build failed"
build=$(cd "$build" && pwd)
orgctl_bin=$build/orgctl
module_so=$build/.libs/mod_auth_orgs.so
[ -x "$orgctl_bin" ] || die "$orgctl_bin is missing"
[ -f "$module_so" ] || die "$module_so is missing"
[ -x "$apache2" ] || die "$apache2 is missing (apt-get install apache2)"

for p in "$port" "$idp1_port" "$idp2_port"; do
    port_busy "$p" && die "port 127.0.0.1:$p is in use (set DEMO_PORT, DEMO_IDP1_PORT, DEMO_IDP2_PORT)"
done

# ---- state directory ------------------------------------------------------

as_root=0
[ "$(id -u)" -eq 0 ] && as_root=1
if [ $as_root = 1 ] && ! id "$web_user" >/dev/null 2>&1; then
    die "user $web_user does not exist"
fi

# www-data must reach the store, the key, the CGI and the pages.
mkdir -p "$state"
chmod 0755 "$state"
[ "$state" != "$top/run/demo" ] || chmod 0755 "$top/run"
for d in conf logs run; do
    mkdir -p "$state/$d"
    chmod 0755 "$state/$d"
done
rm -f "$state"/logs/* "$state"/run/*

# The store starts fresh on every run; the key is kept.
rm -rf "$state/store"
mkdir -m 0750 "$state/store"

key=$state/conf/orgs.key
if [ ! -s "$key" ]; then
    (umask 077 && openssl rand -base64 48 >"$key")
fi
chmod 0640 "$key"

# The IdPs' client secrets, for `orgctl conn create --client-secret-file`.
for idp in okta1 okta2; do
    (umask 077 && node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        process.stdout.write(c.clients[0].client_secret + "\n")' \
        "$top/tests/idp/$idp.json" >"$state/conf/$idp.secret")
    chmod 0640 "$state/conf/$idp.secret"
done

if [ $as_root = 1 ]; then
    chown "root:$web_user" "$key" "$state/conf/okta1.secret" "$state/conf/okta2.secret"
    chown "$web_user:$web_user" "$state/store"
    user_group="User $web_user
Group $web_user"
else
    user_group="# not started as root: httpd runs as $(id -un)"
fi

# The pages and the CGI are copied next to the store: httpd's user may not
# be allowed to reach into the checkout (e.g. a clone under /root).
rm -rf "$state/site"
cp -R "$top/demo/htdocs" "$top/demo/cgi-bin" -t "$(mkdir -p "$state/site" && echo "$state/site")"
chmod -R a+rX "$state/site"

extra_modules=""
for m in log_config unixd; do
    [ -f "$modules_dir/mod_$m.so" ] && extra_modules="$extra_modules
LoadModule ${m}_module $modules_dir/mod_$m.so"
done

conf=$state/conf/httpd.conf
tpl=$(cat "$top/demo/httpd.conf.in")
tpl=${tpl//@ROOT@/$state}
tpl=${tpl//@DEMO@/$state/site}
tpl=${tpl//@PORT@/$port}
tpl=${tpl//@MODULES_DIR@/$modules_dir}
tpl=${tpl//@MODULE_SO@/$module_so}
tpl=${tpl//@EXTRA_MODULES@/$extra_modules}
tpl=${tpl//@USER_GROUP@/$user_group}
printf '%s\n' "$tpl" >"$conf"
chmod 0644 "$conf"

# ---- seed the store -------------------------------------------------------

# Run as root, orgctl hands the LMDB files it creates to the owner of the
# store directory (www-data), so httpd's children keep write access.
orgctl() {
    "$orgctl_bin" -s "$state/store" --key-file "$key" "$@"
}

seed() {
    orgctl org create org1 --display-name "Org One" --meta license=corporate \
        --domain org1.example.com >/dev/null
    orgctl org create org2 --display-name "Org Two" --meta license=premium \
        --domain org2.example.com --domain my.example.com >/dev/null
    orgctl conn create okta1 --issuer "$idp1" --client-id mod-auth-orgs-okta1 \
        --client-secret-file "$state/conf/okta1.secret" --display-name "Okta of Org One" \
        --auth-method client_secret_basic --no-check >/dev/null # the IdPs start below
    orgctl conn create okta2 --issuer "$idp2" --client-id mod-auth-orgs-okta2 \
        --client-secret-file "$state/conf/okta2.secret" --display-name "Okta of Org Two" \
        --auth-method client_secret_post --no-check >/dev/null
    orgctl org enable-conn org1 okta1 --auto-membership
    orgctl org enable-conn org2 okta2 --auto-membership
    # Collaboration: org2's IdP may sign people into org1, but only those
    # org1 has made members (carol); everybody else from okta2 is denied.
    orgctl org enable-conn org1 okta2
    orgctl member add org1 --connection okta2 --email carol@org2.example.com >/dev/null
    orgctl member add org1 --connection okta1 --sub okta1-alice --role admin >/dev/null
}
seed || die "seeding the store with orgctl failed (see the message above)"
# A bearer token for the admin API, shown once (the store keeps its hash).
api_token=$(orgctl token create --name demo) || die "cannot create an admin API token"
say "store seeded: $state/store"

# ---- start the IdPs and httpd ----------------------------------------------

wait_ready() { # name pid file seconds
    local i
    for ((i = 0; i < $4 * 10; i++)); do
        grep -q '^READY ' "$3" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    say "$1 did not start; its log:" >&2
    tail -20 "$state/logs/$1.log" >&2 || true
    return 1
}

# A start normally takes about a second; one that has not answered in 30 s
# is stopped and tried once more.
start_idp() { # name port
    local attempt
    for attempt in 1 2; do
        node "$top/tests/idp/op.mjs" --config "$top/tests/idp/$1.json" --port "$2" \
            --redirect-uri "$base/orgs/callback" \
            >"$state/logs/$1.out" 2>"$state/logs/$1.log" </dev/null &
        pids+=($!)
        names+=("$1")
        wait_ready "$1" $! "$state/logs/$1.out" 30 && return 0
        kill "$!" 2>/dev/null
        wait "$!" 2>/dev/null
        [ $attempt = 1 ] && say "$1: starting it again"
    done
    return 1
}

start_idp okta1 "$idp1_port" || exit 1
start_idp okta2 "$idp2_port" || exit 1

"$apache2" -t -f "$conf" >"$state/logs/configtest.log" 2>&1 || {
    cat "$state/logs/configtest.log" >&2
    die "httpd rejected $conf"
}
"$apache2" -f "$conf" -DFOREGROUND >"$state/logs/httpd.out" 2>&1 </dev/null &
pids+=($!)
names+=(httpd)
httpd_pid=$!
for ((i = 0; i < 150; i++)); do
    curl -s -o /dev/null "$base/" && break
    kill -0 "$httpd_pid" 2>/dev/null || break
    sleep 0.1
done
if ! curl -s -o /dev/null "$base/"; then
    cat "$state/logs/httpd.out" >&2
    tail -20 "$state/logs/error_log" >&2 2>/dev/null || true
    die "httpd did not start"
fi

# ---- --check --------------------------------------------------------------

failures=0
ok() { say "ok   $*"; }
fail() {
    say "FAIL $*"
    failures=$((failures + 1))
}

# Headers a current browser sends on a navigation from this site: the
# module asks for a confirmation when another site (or nothing) says where
# a login or a logout came from.
browser_headers=(-H 'Accept: text/html' -H 'Sec-Fetch-Site: same-origin')

# status and Location of one browser-like GET: no redirect followed but the
# login's one cookie self-redirect, which a browser keeping cookies follows
probe() {
    local pj got loc
    pj=$(mktemp)
    got=$(curl -sS -o /dev/null -c "$pj" -b "$pj" "${browser_headers[@]}" \
        -w '%{http_code} %header{location}' "$@")
    case "$got" in
    *cookie_check=1*)
        loc=${got#* }
        case "$loc" in /*) loc=$base$loc ;; esac
        got=$(curl -sS -o /dev/null -c "$pj" -b "$pj" "${browser_headers[@]}" \
            -w '%{http_code} %header{location}' "$loc")
        ;;
    esac
    rm -f "$pj"
    echo "$got"
}

# A full sign-in with curl, as a browser would: $1 URL, $2 email; prints
# the final status and writes the final page to $3.
sign_in() {
    local url
    rm -f "$jar"
    url=$(curl -sS -L -c "$jar" -b "$jar" "${browser_headers[@]}" -o "$3" \
        -w '%{url_effective}' "$1") || return 1
    case "$url" in
    */interaction/*) ;;
    *)
        echo "not at the IdP's login page: $url"
        return 0
        ;;
    esac
    curl -sS -L -c "$jar" -b "$jar" "${browser_headers[@]}" -o "$3" -w '%{http_code}' \
        --data-urlencode "login=$2" --data-urlencode password=password "$url/login"
}

jar=$state/run/curl.jar
page=$state/run/check.html

# status of a GET with the cookies of the last sign-in
get() { curl -sS -o "$page" -b "$jar" "${browser_headers[@]}" -w '%{http_code}' "$1"; }

# the demo app's page shows NAME=VALUE in its table
has_env() { grep -qF "<tr><th>$1</th><td>$2</td></tr>" "$page"; }

show_page() { sed -n '1,30p' "$page" 2>/dev/null | sed 's/^/      /'; }

run_checks() {
    local got

    got=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $api_token" \
        "$base/orgs/api/v1/organizations/name/org1")
    [ "$got" = 200 ] && ok "admin API with the token -> $got" ||
        fail "admin API with the token: expected 200, got '$got'"
    got=$(curl -sS -o /dev/null -w '%{http_code}' "$base/orgs/api/v1/organizations")
    [ "$got" = 401 ] && ok "admin API without a token -> $got" ||
        fail "admin API without a token: expected 401, got '$got'"

    got=$(probe "$base/app/")
    case "$got" in
    "302 /orgs/login?"* | "302 $base/orgs/login?"*) ok "GET /app/ -> $got" ;;
    *) fail "GET /app/: expected 302 to /orgs/login, got '$got'" ;;
    esac

    # org1 has two connections (okta1, and okta2 for collaborators): the
    # login page lets the user choose; naming the connection skips it.
    got=$(curl -sS -H 'Accept: text/html' -o "$page" -w '%{http_code}' \
        "$base/orgs/login?organization=org1")
    if [ "$got" = 200 ] && grep -q 'data-conn="okta1"' "$page" && grep -q 'data-conn="okta2"' "$page"; then
        ok "GET /orgs/login?organization=org1 -> 200, chooser with okta1 and okta2"
    else
        fail "GET /orgs/login?organization=org1: expected the chooser (200), got '$got'"
    fi

    got=$(probe "$base/orgs/login?organization=org1&connection=okta1")
    case "$got" in
    "302 $idp1/auth?"*) ok "GET /orgs/login?organization=org1&connection=okta1 -> ${got%%\?*}?..." ;;
    *) fail "GET /orgs/login?organization=org1&connection=okta1: expected 302 to $idp1/auth, got '$got'" ;;
    esac

    got=$(probe "$base/orgs/login?organization=org2")
    case "$got" in
    "302 $idp2/auth?"*) ok "GET /orgs/login?organization=org2 -> ${got%%\?*}?..." ;;
    *) fail "GET /orgs/login?organization=org2: expected 302 to $idp2/auth, got '$got'" ;;
    esac

    got=$(probe "$base/orgs/login?organization=dave@my.example.com")
    case "$got" in
    "302 $idp2/auth?"*) ok "GET /orgs/login?organization=dave@my.example.com -> ${got%%\?*}?..." ;;
    *) fail "home-realm discovery: expected 302 to $idp2/auth, got '$got'" ;;
    esac

    got=$(sign_in "$base/orgs/login?organization=org1&connection=okta1&return_to=/org1/" \
        alice@org1.example.com "$page" 2>&1)
    if [ "$got" = 200 ] && has_env ORG_NAME org1 && has_env REMOTE_USER alice@org1.example.com &&
        has_env ORG_ROLES admin; then
        ok "alice signs in through okta1: /org1/ shows ORG_NAME=org1, REMOTE_USER, ORG_ROLES=admin"
    else
        fail "sign-in of alice at /org1/: '$got'"
        show_page
    fi
    got=$(get "$base/premium/")
    if [ "$got" = 403 ]; then
        ok "alice (org1, license=corporate) at /premium/ -> 403"
    else
        fail "alice at /premium/: expected 403, got '$got'"
    fi

    got=$(sign_in "$base/org2/" carol@org2.example.com "$page" 2>&1)
    if [ "$got" = 200 ] && has_env ORG_NAME org2 && has_env ORG_META_license premium; then
        ok "carol signs in through okta2: /org2/ shows ORG_NAME=org2, ORG_META_license=premium"
    else
        fail "sign-in of carol at /org2/: '$got'"
        show_page
    fi
    got=$(get "$base/premium/")
    if [ "$got" = 200 ]; then
        ok "carol (org2, license=premium) at /premium/ -> 200"
    else
        fail "carol at /premium/: expected 200, got '$got'"
    fi

    got=$(sign_in "$base/orgs/login?organization=org1&connection=okta2&return_to=/org1/" \
        carol@org2.example.com "$page" 2>&1)
    if [ "$got" = 200 ] && has_env ORG_NAME org1 && has_env ORG_CONNECTION okta2; then
        ok "carol (invited member) signs in to org1 through okta2: ORG_CONNECTION=okta2"
    else
        fail "collaboration sign-in of carol into org1: '$got'"
        show_page
    fi

    got=$(sign_in "$base/orgs/login?organization=org1&connection=okta2&return_to=/org1/" \
        dave@my.example.com "$page" 2>&1)
    if [ "$got" = 403 ] && grep -q 'access_denied' "$page"; then
        ok "dave (okta2, not a member of org1) into org1 -> 403 access_denied"
    else
        fail "dave into org1: expected 403 access_denied, got '$got'"
        show_page
    fi

    if [ $failures -ne 0 ]; then
        say "error_log (last lines):"
        tail -20 "$state/logs/error_log" 2>/dev/null | sed 's/^/      /'
    fi
}

if [ $mode = check ]; then
    run_checks
    if [ $failures -eq 0 ]; then
        say "check passed"
        exit 0
    fi
    say "check failed ($failures)"
    exit 1
fi

# ---- run until Ctrl-C -----------------------------------------------------

cat <<EOF

  mod_auth_orgs demo is running.

  $base/            start page (public)
  $base/app/        the CGI app: asks for the organization or your email
  $base/org1/       fixed to org1 (okta1)
  $base/org2/       fixed to org2 (okta2)
  $base/premium/    only organizations with license=premium (org2)
  $base/orgs/logout?return_to=/

  Users (password "password"):
    alice@org1.example.com, bob@org1.example.com   okta1 ($idp1)  -> org1
    carol@org2.example.com, dave@my.example.com    okta2 ($idp2)  -> org2
    carol is also a member of org1 (okta2 is enabled on org1 without
    auto-membership), so she can sign in there; dave is refused.
    alice is an admin of org1 (ORG_ROLES=admin).

  Admin REST API (docs/admin-api.md), with a token made for the demo:
    curl -H "Authorization: Bearer $api_token" $base/orgs/api/v1/organizations

  Manage the store while it runs:
    ORGS_STORE=$state/store ORGS_KEY_FILE=$key $orgctl_bin org list
  Logs: $state/logs/   Config: $conf

  Press Ctrl-C to stop.

EOF

while :; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[i]}" 2>/dev/null; then
            die "${names[i]} (pid ${pids[i]}) exited; see $state/logs/"
        fi
    done
    sleep 1 &
    wait $! || true
done
