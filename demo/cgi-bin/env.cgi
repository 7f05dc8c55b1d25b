#!/bin/sh
# The demo's "legacy app": a CGI that knows nothing about SSO. httpd and
# mod_auth_orgs have already signed the user in; the script only reads
# REMOTE_USER, ORG_* (and HTTP_X_ORG_* when OrgsPassHeaders is On) from its
# environment and prints them.

esc() {
    printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

# Rows of the table: NAME=VALUE lines of the variables the module sets.
rows() {
    env | LC_ALL=C sort | while IFS= read -r line; do
        name=${line%%=*}
        value=${line#*=}
        case "$name" in
        REMOTE_USER | AUTH_TYPE | ORG_* | HTTP_X_ORG_*)
            printf '<tr><th>%s</th><td>%s</td></tr>\n' "$(esc "$name")" "$(esc "$value")"
            ;;
        esac
    done
}

org=$(esc "${ORG_DISPLAY_NAME:-${ORG_NAME:-?}}")
user=$(esc "${REMOTE_USER:-?}")
here=$(esc "${SCRIPT_NAME:-/app/}")
other=org2
[ "${ORG_NAME:-}" = org2 ] && other=org1

printf 'Content-Type: text/html; charset=utf-8\r\n'
printf 'Cache-Control: no-store\r\n\r\n'
cat <<HTML
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Demo app - $org</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; font-family: monospace; }
th { background: #f4f4f4; }
nav a { margin-right: 1em; }
</style>
</head>
<body>
<h1>Hello <span id="user">$user</span></h1>
<p>Signed in to <strong id="org">$org</strong> at <code>$here</code>.
This page is a plain CGI script: everything below comes from its environment.</p>
<table id="env">
<tr><th>variable</th><th>value</th></tr>
$(rows)
</table>
<nav>
<p>
<a id="logout" href="/orgs/logout?return_to=/">Sign out</a>
<a id="switch" href="/orgs/login?organization=$other&amp;return_to=/app/">Switch to $other</a>
<a href="/orgs/login?return_to=/app/">Choose another organization</a>
</p>
<p>
<a href="/app/">/app/</a>
<a href="/org1/">/org1/</a>
<a href="/org2/">/org2/</a>
<a href="/premium/">/premium/</a>
<a href="/">home</a>
</p>
</nav>
</body>
</html>
HTML
