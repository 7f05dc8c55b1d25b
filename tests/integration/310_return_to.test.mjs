// Layer 300 (login): return_to, the open-redirect surface of /orgs/login and
// /orgs/logout. Every payload of tests/vectors/open_redirect.txt is refused
// with 400 and ORGS00233 (ORGS00232 when the query does not even decode),
// never with a Location off this site; every entry of return_to_ok.txt is
// accepted; and after a real login the browser lands on the local
// return_to only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';
import { MODULE_SO, SRC_DIR } from './lib/paths.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { Accept: 'text/html', 'sec-fetch-site': 'same-origin' };

// ---- vectors ------------------------------------------------------------------

// [{ kind: 'D'|'R', value, line }] from a vectors file (format in its header).
function loadVectors(name) {
  const text = fs.readFileSync(join(SRC_DIR, 'tests/vectors', name), 'utf8');
  const out = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const kind = line[0];
    if ((kind !== 'D' && kind !== 'R') || (line.length > 1 && line[1] !== ' ')) {
      throw new Error(`${name}:${i + 1}: not a D or R line`);
    }
    out.push({ kind, value: line.slice(2), line: i + 1 });
  });
  return out;
}

// The one form-decoding the server applies ('+' is a space, %XX; a bad
// escape or %00 does not decode): the string, or null.
function formDecode(raw) {
  const bytes = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      const v = parseInt(hex, 16);
      if (v === 0) return null;
      bytes.push(v);
      i += 2;
    } else if (ch === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('latin1');
}

// The query value as sent: D payloads percent-encoded (every byte outside
// the unreserved set) so the server decodes to exactly the payload; R
// payloads as they are.
function wire(v) {
  if (v.kind === 'R') return v.value;
  let s = '';
  for (const b of Buffer.from(v.value, 'utf8')) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

function label(v) {
  return `${v.kind} ${JSON.stringify(v.value.length > 60 ? `${v.value.slice(0, 60)}...` : v.value)} (line ${v.line})`;
}

// ---- a raw GET (the path goes on the wire exactly as given) -------------

function rawGet(server, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path, method: 'GET', headers: { ...HTML, ...headers } },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({
          status: res.statusCode,
          headers: res.headers,
          location: res.headers.location ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10000, () => req.destroy(new Error(`timeout: GET ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

// A Location stays on this site: absent, a path starting with one '/'
// (no '//' or '/\'), or an absolute URL on this server's origin.
function assertLocal(server, location, what) {
  if (location === null) return;
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    assert.equal(new URL(location).origin, new URL(server.baseURL).origin, `${what}: Location ${location}`);
    return;
  }
  assert.match(location, /^\/(?![/\\])/, `${what}: Location ${JSON.stringify(location)}`);
  assert.equal(new URL(location, server.baseURL).origin, new URL(server.baseURL).origin,
    `${what}: Location ${location}`);
}

function htmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// ---- fixture ------------------------------------------------------------------

let op;
let h;
const bad = loadVectors('open_redirect.txt');
const good = loadVectors('return_to_ok.txt');

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({
    name: 'return_to',
    body: `<Directory "{{HTDOCS}}/app">
    Options +ExecCGI
    DirectoryIndex index.cgi
    AuthType orgs
    Require org-member
</Directory>`,
  });
  h.cgi('app/index.cgi', `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "ORG_NAME=$ORG_NAME"
echo "REQUEST_URI=$REQUEST_URI"
`);
  await seedAcme(h, op, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await h.start();
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

// ---- refused payloads -----------------------------------------------------

test('the vector files load', () => {
  assert.ok(bad.length >= 90, `${bad.length} open-redirect payloads`);
  assert.ok(good.length >= 20, `${good.length} good return_to values`);
});

// An empty return_to is the same as none: the endpoints use "/" (the
// handler's documented default), which is local. It is the one payload
// the HTTP layer does not refuse; orgs_url_return_to_check itself rejects it
// (tests/unit/test_url.c).
function isEmpty(v) {
  const decoded = v.kind === 'R' ? formDecode(v.value) : v.value;
  return decoded === '';
}

for (const endpoint of ['/orgs/login', '/orgs/logout']) {
  test(`${endpoint}: every open-redirect payload -> 400, ORGS00233 (ORGS00232 if undecodable), no off-site Location`, async () => {
    const failures = [];
    const batchMark = h.logMark();
    let refused = 0;
    for (const v of bad) {
      if (isEmpty(v)) continue;
      const undecodable = v.kind === 'R' && formDecode(v.value) === null;
      const mark = h.logMark();
      const path = `${endpoint}?return_to=${wire(v)}`;
      const res = await rawGet(h, path);
      try {
        assert.equal(res.status, 400, `status ${res.status}`);
        assertLocal(h, res.location, 'refusal');
        assert.equal(res.location, null, `a refusal redirects to ${res.location}`);
        assert.ok(!res.headers['set-cookie']?.some((c) => /orgs_(sess_|org=)/.test(c) && !/=;|=$/.test(c.split(';')[0])),
          'a session cookie was set');
        const tag = undecodable ? 'ORGS00232' : 'ORGS00233';
        await h.waitForLog(new RegExp(`${tag}: ${endpoint}: `), { from: mark, timeoutMs: 2000 });
        refused++;
      } catch (e) {
        failures.push(`${label(v)}: ${e.message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} payloads not refused as expected:\n${failures.join('\n')}`);
    assert.match(h.errorLog(batchMark), /ORGS00233: \S+: return_to refused: /);
    assert.ok(refused >= bad.length - 2);
  });
}

test('an empty return_to means "/" (local), on login and logout', async () => {
  for (const v of bad.filter(isEmpty)) {
    const login = await rawGet(h, `/orgs/login?return_to=${wire(v)}`);
    assert.equal(login.status, 200, label(v));
    assert.match(login.body, /<input type="hidden" name="return_to" value="\/">/);
    const logout = await rawGet(h, `/orgs/logout?return_to=${wire(v)}`);
    assert.equal(logout.status, 302, label(v));
    assert.equal(logout.location, '/');
  }
});

// ---- accepted values --------------------------------------------------------

test('every good return_to is accepted: 200 prompt with the hidden return_to', async () => {
  const failures = [];
  for (const v of good) {
    const decoded = v.kind === 'R' ? formDecode(v.value) : v.value;
    const mark = h.logMark();
    const res = await rawGet(h, `/orgs/login?return_to=${wire(v)}`);
    try {
      assert.equal(res.status, 200, `status ${res.status}`);
      assert.ok(res.body.includes(`<input type="hidden" name="return_to" value="${htmlEscape(decoded)}">`),
        'the prompt does not carry the return_to');
      assert.doesNotMatch(h.errorLog(mark), /ORGS0023[23]/);
    } catch (e) {
      failures.push(`${label(v)}: ${e.message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('logout with a good return_to (no session) redirects there, on this site', async () => {
  const failures = [];
  for (const v of good) {
    const decoded = v.kind === 'R' ? formDecode(v.value) : v.value;
    const res = await rawGet(h, `/orgs/logout?return_to=${wire(v)}`);
    try {
      assert.equal(res.status, 302, `status ${res.status}`);
      assert.equal(res.location, decoded);
      assertLocal(h, res.location, 'logout');
    } catch (e) {
      failures.push(`${label(v)}: ${e.message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

// ---- after a real login -------------------------------------------------------

async function loginTo(c, returnTo) {
  const r1 = await c.get(`/orgs/login?organization=acme&return_to=${encodeURIComponent(returnTo)}`);
  assert.equal(r1.status, 302, r1.body);
  assert.ok(r1.location.startsWith(`${op.issuer}/authorize?`), r1.location);
  // the IdP never sees return_to
  assert.ok(!r1.location.includes('return_to'), r1.location);
  const r2 = await c.get(r1.location);
  assert.equal(r2.status, 302);
  assert.equal(new URL(r2.location).pathname, '/orgs/callback');
  return c.get(r2.location);
}

test('after a successful login the browser goes to the local return_to only', async () => {
  await op.mode('good');
  for (const returnTo of ['/app/?x=1&y=%2F%2Fevil.example', '/app/', '/a//b', '/app/#frag']) {
    const c = h.client({ headers: HTML });
    const res = await loginTo(c, returnTo);
    assert.equal(res.status, 302, res.body);
    assert.equal(res.rawLocation, returnTo);
    assertLocal(h, res.rawLocation, 'after login');
    assert.ok(res.setCookies.some((s) => s.startsWith('orgs_sess_acme=')), res.setCookies.join('\n'));
  }
  // the whole chain from the protected page back to it
  const c = h.client({ headers: HTML });
  const start = await c.get('/app/?q=1');
  assert.equal(start.status, 302);
  const loginURL = new URL(start.location);
  assert.equal(loginURL.searchParams.get('return_to'), '/app/?q=1');
  const res = await loginTo(c, loginURL.searchParams.get('return_to'));
  assert.equal(res.rawLocation, '/app/?q=1');
  const app = await c.get(res.location);
  assert.equal(app.status, 200);
  assert.match(app.body, /^ORG_NAME=acme$/m);
});

test('a refused return_to at login start leaves nothing pending at the IdP', async () => {
  const c = h.client({ headers: HTML });
  const mark = h.logMark();
  const res = await c.get(`/orgs/login?organization=acme&return_to=${encodeURIComponent('//evil.example/')}`);
  assert.equal(res.status, 400);
  assert.equal(res.location, null);
  await h.waitForLog(/ORGS00233: \/orgs\/login: return_to refused/, { from: mark });
  assert.doesNotMatch(h.errorLog(mark), /ORGS00206/, 'a login was started');
  assert.equal(c.jar.get('orgs_browser'), undefined);
});

test('logout after a login: the session ends and the final redirect stays local', async () => {
  const c = h.client({ headers: HTML });
  const res = await loginTo(c, '/app/');
  assert.equal(res.status, 302);
  const bye = await c.get('/orgs/logout?return_to=%2Fapp%2F');
  assert.equal(bye.status, 302);
  // RP-initiated logout at the IdP, which brings the browser back here
  const dest = new URL(bye.location);
  if (dest.origin === op.issuer) {
    const back = dest.searchParams.get('post_logout_redirect_uri');
    assert.equal(back, h.url('/orgs/logged-out'));
    assert.equal(dest.searchParams.get('state'), '/app/');
    // the way back validates state like any return_to
    const home = await c.get(`/orgs/logged-out?state=${encodeURIComponent('//evil.example/')}`);
    assert.equal(home.status, 302);
    assert.equal(home.rawLocation, '/');
    const onward = await c.get('/orgs/logged-out?state=%2Fapp%2F');
    assert.equal(onward.rawLocation, '/app/');
  } else {
    assertLocal(h, bye.rawLocation, 'logout');
  }
  const refused = await c.get(`/orgs/logout?return_to=${encodeURIComponent('https://evil.example/')}`);
  assert.equal(refused.status, 400);
  assert.equal(refused.location, null);
  const app = await c.get('/app/');
  assert.equal(app.status, 302);
  assert.equal(new URL(app.location).pathname, '/orgs/login');
});
