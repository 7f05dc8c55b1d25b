#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
from tests/vectors and a few hand-made records. Run from anywhere:
    python3 tests/fuzz/make_corpus.py
The first byte of a fuzz_jose / fuzz_parse / fuzz_store seed picks the mode
(see the comment at the top of each target)."""
import base64, hashlib, json, os, struct, sys

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
vec = os.path.join(top, "tests", "vectors")
out = os.path.join(top, "tests", "fuzz", "corpus")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def lines(name):
    for line in open(os.path.join(vec, name), encoding="utf-8"):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            yield line[2:]


# ---- fuzz_url: redirect payloads, good paths, query strings
for name in ("open_redirect.txt", "return_to_ok.txt"):
    for v in lines(name):
        write("fuzz_url", v)
for q in ("state=abc&code=xyz", "a=1&a=2&&b", "return_to=%2Fapp%3Fx%3D1&organization=acme",
          "k+1=v+2&x=%41%42", "/orgs/login?x=1#frag", "/p?", "/p?a=1&"):
    write("fuzz_url", q)

# ---- fuzz_jose: 0 JWKS, 1 token, 2 claims
for name in ("jwks.json", "jwks-single.json"):
    write("fuzz_jose", b"\x00" + open(os.path.join(vec, "jose", name), "rb").read())
cases = json.load(open(os.path.join(vec, "jose", "cases.json")))
for c in cases["cases"]:
    tok = c.get("token", "")
    write("fuzz_jose", b"\x01" + tok.encode())
    parts = tok.split(".")
    if len(parts) == 3:
        try:
            write("fuzz_jose", b"\x02" + base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            pass

# ---- fuzz_parse: mode byte (0 size, 1 duration, 2 slug, 3 domain, 4 email,
# 5 meta, 6 role / display name, 7 key source / issuer URL) + value
parse_seeds = {
    0: ["1G", "512M", "65536", "10k", "0", "18446744073709551615", "1T"],
    1: ["30s", "15m", "8h", "7d", "3600", "0", "9223372036854775807"],
    2: ["acme", "acme-corp", "a_b", "org_x", "-a", "a--b"],
    3: ["example.com", "Sub.Example.COM", "xn--bcher-kva.example", "a.b", "a-.b", "x" * 63 + ".com"],
    4: ["alice@example.com", "Bob@Example.COM", "a@b@c.com", "x@y", "\"q\"@example.org"],
    5: ["tier=gold", "Region_1=eu west", "k=", "=v", "k=\u00e9t\u00e9", "k=\x7f"],
    6: ["admin", "org:admin", "r.w-x_y", "Acme Corp \u2713", "\u00c0"],
    7: ["file:/etc/key", "env:ORGS_KEY", "env:1X", "https://idp.example.com",
        "http://127.0.0.1:8080/x", "http://[::1]:9/", "https://u@h/", "http://localhost"],
}
for mode, vals in parse_seeds.items():
    for v in vals:
        write("fuzz_parse", bytes([mode]) + v.encode())

# ---- fuzz_store: 0 session, 1 org record, 2 user record, 3 membership record
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def pack(i):
    s = i[4:]
    bits = 0
    for ch in s:
        bits = bits << 6 | B62.index(ch)
    return bits.to_bytes(12, "big")


org, usr, con = "org_0123456789ABCDEF", "usr_abcdefghijklmnop", "con_ZZZZZZZZ00000000"


def srec(conn_name, claims, pairs, v1=False):
    """A session record; v1: format version 1's, with the claims JSON."""
    b = (b"S" if v1 else b"s") + pack(org) + pack(usr) + pack(con)
    b += struct.pack("<qqq", 1700000000000000, 1700000100000000, 1700086400000000)
    b += bytes([len(conn_name)]) + conn_name
    if v1 and claims is None:
        b += struct.pack("<I", 0xFFFFFFFF)
    elif v1:
        b += struct.pack("<I", len(claims)) + claims
    return b + pairs


write("fuzz_store", b"\x00" + srec(b"okta", None, b"sub\0u1\0email\0a@b.c\0n\x001\0"))
write("fuzz_store", b"\x00" + srec(b"", None, b""))
write("fuzz_store", b"\x00" + srec(b"google", None, b"odd\0"))
write("fuzz_store", b"\x00" + srec(b"okta", b'{"sub":"u1","email":"a@b.c","n":1}',
                                  b"sub\0u1\0email\0a@b.c\0n\x001\0", v1=True))
write("fuzz_store", b"\x00" + srec(b"", None, b"", v1=True))


def rstr(s):
    if s is None:
        return struct.pack("<I", 0xFFFFFFFF)
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def org_rec(i, name, display, created, updated, meta, domains):
    b = b"O\x01" + pack(i) + struct.pack("<qq", created, updated) + rstr(name) + rstr(display)
    b += struct.pack("<I", len(meta)) + b"".join(rstr(k) + rstr(v) for k, v in sorted(meta.items()))
    return b + struct.pack("<I", len(domains)) + b"".join(rstr(d) for d in sorted(domains))


def user_rec(i, c, created, last_login, sub, email, name):
    return (b"U\x01" + pack(i) + pack(c) + struct.pack("<qq", created, last_login) + rstr(sub) +
            rstr(email) + rstr(name))


write("fuzz_store", b"\x01" + org_rec(org, "acme", "Acme \u00e9 \"Corp\"", 1700000000000000, -5,
                                      {"tier": "gold", "a": "x/y\n"}, ["acme.com", "b.org"]))
write("fuzz_store", b"\x01" + org_rec("org_0000000000000000", "x", None, 0, 0, {}, []))
write("fuzz_store", b"\x02" + user_rec(usr, con, 1, 2, "00u1", "alice@example.com", "Alice"))
write("fuzz_store", b"\x02" + user_rec("usr_0000000000000000", "con_0000000000000000", 0, 0,
                                       None, None, None))


def mrec(entries):
    n = len(entries)
    head = struct.pack("<I", n) + b"".join(pack(e[0]) for e in entries)
    off = 4 + n * 24
    infos, roles = b"", b""
    for e in entries:
        r = b"".join(x.encode() + b"\0" for x in e[1])
        infos += struct.pack("<qI", 1700000000000000, off + len(roles))
        roles += r
    return head + infos + roles


write("fuzz_store", b"\x03" + mrec([(org, ["admin", "dev"]), ("org_1111111111111111", [])]))
write("fuzz_store", b"\x03" + mrec([(org, [])]))
write("fuzz_store", b"\x03")
print("corpus written to", out, file=sys.stderr)
