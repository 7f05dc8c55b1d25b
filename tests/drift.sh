#!/bin/sh
# Drift checks (make check): the code and its documentation and the
# architecture rules stay in step.
#  1. every directive of src/config.c's command table is documented in
#     docs/directives.md (a "### Name" section);
#  2. every per-directory field has a default (create) and a merge rule;
#  3. ORGSLOGNO numbers in the C files are five digits, unique, and each is
#     listed in docs/log-messages.md;
#  4. the folders keep the architecture: nothing under src/core/ includes an
#     httpd header or calls ap_*, and no core object references an ap_*
#     symbol; httpd headers appear only under src/httpd/ and in
#     mod_auth_orgs.c; LMDB only under src/core/store/, libcurl only in
#     src/core/http.c, OpenSSL only in src/core/crypto.c and jose_*.c;
#  5. the module exports only auth_orgs_module;
#  6. sources.am (the build lists) matches the folders;
#  7. src/core/pages_builtin.c matches templates/.
# Runs from automake (top_srcdir/top_builddir set) or by hand from the
# build directory.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-.}
fails=0
fail() {
    echo "drift: $*" >&2
    fails=$((fails + 1))
}

# ---- 1. directives documented
directives=$(sed -n 's/.*AP_INIT_[A-Z0-9_]*("\([A-Za-z]*\)".*/\1/p' "$srcdir/src/httpd/config.c")
[ -n "$directives" ] || fail "no directives found in src/config.c"
for d in $directives; do
    grep -q "^### $d\$" "$srcdir/docs/directives.md" ||
        fail "directive $d is not documented in docs/directives.md (### $d)"
done
# and nothing documented that does not exist
for d in $(sed -n 's/^### \(Orgs[A-Za-z]*\)$/\1/p' "$srcdir/docs/directives.md"); do
    echo "$directives" | grep -qx "$d" || fail "docs/directives.md documents unknown directive $d"
done

# ---- 2. per-directory fields: default in create, rule in merge
fields=$(sed -n '/^typedef struct orgs_dir_cfg_t {/,/^} orgs_dir_cfg_t;/p' "$srcdir/src/httpd/config.h" |
    sed -n '/^[^}]/s/^[^/]*[ *]\([a-z_][a-z0-9_]*\);.*/\1/p')
[ -n "$fields" ] || fail "no fields found in orgs_dir_cfg_t"
# flattened: clang-format may wrap a rule over two lines
merge=$(sed -n '/^void \*orgs_config_merge_dir/,/^}/p' "$srcdir/src/httpd/config.c" | tr -s ' \n' '  ')
create=$(sed -n '/^void \*orgs_config_create_dir/,/^}/p' "$srcdir/src/httpd/config.c")
for f in $fields; do
    echo "$merge" | grep -q "dc->$f = add->$f != " ||
        fail "orgs_dir_cfg_t.$f has no merge rule 'dc->$f = add->$f != UNSET ? ...'"
    # pointers default to NULL through apr_pcalloc; ints need ORGS_UNSET
    if sed -n '/^typedef struct orgs_dir_cfg_t {/,/^}/p' "$srcdir/src/httpd/config.h" | grep -q "^ *int $f;"; then
        echo "$create" | grep -q "dc->$f = ORGS_UNSET" || fail "orgs_dir_cfg_t.$f has no UNSET default"
    fi
done

# ---- 3. log numbers
cfiles=$(find "$srcdir/mod_auth_orgs.c" "$srcdir/src" "$srcdir/tools" -name '*.c' | LC_ALL=C sort)
# shellcheck disable=SC2086
nums=$(grep -ho 'ORGSLOGNO([^)]*)' $cfiles | sed 's/ORGSLOGNO(\(.*\))/\1/')
for n in $nums; do
    echo "$n" | grep -qx '[0-9]\{5\}' || fail "log number '$n' is not five digits"
done
dups=$(echo "$nums" | sort | uniq -d)
[ -z "$dups" ] || fail "log numbers used more than once: $(echo $dups)"
for n in $(echo "$nums" | sort -u); do
    grep -q "^| ORGS$n |" "$srcdir/docs/log-messages.md" ||
        fail "ORGS$n is not listed in docs/log-messages.md"
done
# AH numbers are httpd's own
# shellcheck disable=SC2086
if grep -n 'APLOGNO(' $cfiles >/dev/null; then
    fail "APLOGNO used (httpd's numbers); use ORGSLOGNO"
fi

# ---- 4. the folders keep the architecture
# Every file is checked by where it sits: a new core file is covered
# without anyone editing this script.
httpd_inc='#include *[<"](httpd|http_[a-z_]*|ap_[a-z_]*|util_[a-z_]*|mpm_common)\.h'
core_files=$(find "$srcdir/src/core" -name '*.[ch]' | LC_ALL=C sort)
[ -n "$core_files" ] || fail "no files under src/core"
for src in $core_files; do
    rel=${src#"$srcdir"/}
    if grep -nE '(^|[^A-Za-z0-9_])ap_[a-z0-9_]+[[:space:]]*\(' "$src" >/dev/null ||
        grep -nE "$httpd_inc" "$src" >/dev/null; then
        fail "core file $rel uses httpd (ap_* call or httpd header)"
    fi
done
core_objs=$(find "$builddir/src/core" -name '*.o' 2>/dev/null)
[ -n "$core_objs" ] || fail "no core objects under $builddir/src/core (build first)"
for o in $core_objs; do
    if nm -u "$o" | grep -qE ' _?ap_'; then
        fail "core object $o references ap_* symbols"
    fi
done
# httpd headers: only the glue
for src in $(find "$srcdir/src" "$srcdir/tools" -name '*.[ch]' ! -path "$srcdir/src/httpd/*"); do
    if grep -nE "$httpd_inc" "$src" >/dev/null; then
        fail "${src#"$srcdir"/} includes an httpd header (only src/httpd/ may)"
    fi
done
# each library behind its own files
# (calls are looked for in .c files, includes everywhere: headers only
# mention these libraries in comments)
only_in() { # PATTERN WHAT ALLOWED-REGEX
    for src in $(grep -rlE --include='*.c' "$1" "$srcdir/src" "$srcdir/tools" "$srcdir/mod_auth_orgs.c"
        grep -rlE --include='*.h' '#include *<(lmdb\.h|curl/|openssl/|libpq-fe\.h)' "$srcdir/src" "$srcdir/tools" |
        xargs -r grep -lE "$1"); do
        rel=${src#"$srcdir"/}
        echo "$rel" | grep -qE "$3" || fail "$rel uses $2 (only $3 may)"
    done
}
only_in '#include *<lmdb\.h>|MDB_txn|MDB_env|mdb_[a-z_]+\(' 'LMDB' '^src/core/store/'
only_in '#include *<curl/|curl_[a-z_]+\(' 'libcurl' '^src/core/http\.c$'
only_in '#include *<openssl/' 'OpenSSL' '^src/core/(crypto|jose_[a-z]+)\.c$'
only_in '#include *<libpq-fe\.h>|PGconn|PGresult|PQ[a-z][A-Za-z]+\(' 'libpq' '^src/core/store/pg[a-z_]*\.[ch]$'
# the store's private headers stay private
for src in $(grep -rlE '#include *"(store/)?(store_int|codec)\.h"' "$srcdir/src" "$srcdir/tools" "$srcdir/mod_auth_orgs.c"); do
    rel=${src#"$srcdir"/}
    case $rel in src/core/store/*) ;; *) fail "$rel includes a private header of src/core/store/" ;; esac
done

# ---- 5. exports of the module
so="$builddir/.libs/mod_auth_orgs.so"
if [ -f "$so" ]; then
    extra=$(nm -D --defined-only "$so" | awk '{print $NF}' |
        grep -vxE 'auth_orgs_module|_init|_fini|_edata|_end|__bss_start|_ITM_.*|__gmon_start__')
    [ -z "$extra" ] || fail "mod_auth_orgs.so exports more than auth_orgs_module: $(echo $extra)"
    nm -D --defined-only "$so" | grep -q ' auth_orgs_module$' ||
        fail "mod_auth_orgs.so does not export auth_orgs_module"
else
    fail "$so not built"
fi

# ---- 6. the build lists are the folders
if ! sh "$srcdir/scripts/gen-sources.sh" --check; then
    fail "sources.am does not match the folders: run scripts/gen-sources.sh and autoreconf"
fi

# ---- 7. the pages compiled into the module are templates/
if ! sh "$srcdir/scripts/gen-pages.sh" --check; then
    fail "src/core/pages_builtin.c does not match templates/: run scripts/gen-pages.sh"
fi
for f in "$srcdir"/templates/*; do
    grep -q "templates/$(basename "$f")" "$srcdir/Makefile.am" ||
        fail "templates/$(basename "$f") is not installed: add it to dist_pages_DATA in Makefile.am"
done

if [ "$fails" -ne 0 ]; then
    echo "drift: $fails problem(s)" >&2
    exit 1
fi
echo "drift: ok"
