#!/bin/sh
# Documentation checks (make check): what the documents tell an
# administrator exists and agrees.
#  1. the manual pages in man/ are what scripts/gen-man.py makes from
#     docs/orgctl.md and docs/directives.md (no drift);
#  2. every Orgs* directive named in the documents, the README, conf/ and
#     debian/ is one of src/httpd/config.c's table;
#  3. every file of the source tree named in the documents (a relative
#     link, or a `path` under a top-level folder) exists;
#  4. one store path and one key mode everywhere: the Debian package's
#     (/var/lib/apache2/orgs, /etc/apache2/orgs.key root:www-data 0640).
# Runs from automake (top_srcdir set) or by hand.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
fails=0
fail() {
    echo "docs: $*" >&2
    fails=$((fails + 1))
}
cd "$srcdir" || exit 1
docs="README.md docs/*.md conf/auth_orgs.conf debian/*.postinst"

# ---- 1. man pages
if command -v python3 >/dev/null; then
    python3 scripts/gen-man.py --check >&2 || fail "man/ is stale: run scripts/gen-man.py"
else
    echo "docs: python3 missing, man page check skipped" >&2
fi

# ---- 2. directives
directives=$(sed -n 's/.*AP_INIT_[A-Z0-9_]*("\([A-Za-z]*\)".*/\1/p' src/httpd/config.c)
# shellcheck disable=SC2086
for d in $(grep -ohE '\bOrgs[A-Z][A-Za-z]*' $docs | sort -u); do
    echo "$directives" | grep -qx "$d" || fail "unknown directive $d mentioned in: $(grep -lw "$d" $docs | tr '\n' ' ')"
done

# ---- 3. files
for f in README.md docs/*.md; do
    dir=$(dirname "$f")
    # relative links [text](path) and [text](path#anchor)
    for link in $(grep -oE '\]\([^)# ]+' "$f" | sed 's/^](//' | grep -v '://'); do
        [ -e "$dir/$link" ] || fail "$f links to missing $link"
    done
    # `paths` in the tree: a top-level folder, then a name without
    # placeholders (NNN, <x>, *, …)
    for p in $(grep -oE '`(src|tools|tests|scripts|docs|conf|debian|man|bench|demo)/[A-Za-z0-9_./-]+`' "$f" | tr -d '`' | sort -u); do
        case $p in *NNN* | *'*'* | *'<'* | *'…'* | *...) continue ;; esac
        # a program the build makes from PATH.c
        [ -e "$p" ] || [ -e "$p.c" ] || fail "$f names missing file $p"
    done
done

# ---- 4. one store path, one key mode
# shellcheck disable=SC2086
bad=$(grep -nE '/var/lib/auth_orgs|/var/lib/mod_auth_orgs' $docs)
[ -z "$bad" ] || fail "a store path other than /var/lib/apache2/orgs: $bad"
# shellcheck disable=SC2086
bad=$(grep -nE 'chmod +0?[0-7]{3} +/etc/apache2/orgs\.key' $docs | grep -vE 'chmod +0?640 ')
[ -z "$bad" ] || fail "a key mode other than 0640: $bad"
# shellcheck disable=SC2086
bad=$(grep -nE 'install -d .*-m +0?[0-7]{3} +/var/lib/apache2/orgs' $docs | grep -vE -- '-m +0?750 ')
[ -z "$bad" ] || fail "a store directory mode other than 0750: $bad"

if [ "$fails" -eq 0 ]; then
    echo "docs: man pages current, directives known, named files exist, one store path and key mode"
fi
[ "$fails" -eq 0 ]
