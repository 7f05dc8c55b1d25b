// Layer 900: attacks on the login flow, driven by a malicious OpenID
// Provider (tests/idp/rogue.mjs). The happy path is proven first against the
// same OP, so every refusal below is the module's doing. Each negative test
// asserts the HTTP status, the ORGS log tag (src/httpd/login.c), that no session
// cookie was set, and that /app/ still sends the browser to the login.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';

import { Httpd } from './lib/httpd.mjs';
import { MODULE_SO } from './lib/paths.mjs';
import { sleep } from './lib/proc.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';
import { PG_MODE } from './lib/storemode.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { Accept: 'text/html' };

const APP_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | grep -E '^(ORG_|REMOTE_USER=)' | sort
`;

function appConf(extraServer = '') {
  return `${extraServer}
<Directory "{{HTDOCS}}/app">
    Options +ExecCGI
    DirectoryIndex index.cgi
    AuthType orgs
    Require org-member
</Directory>`;
}

let op;
let h; // main server
let ht; // server with OrgsLoginTimeout 2s
let hs; // the same with OrgsLoginState store (LMDB only: pending logins in the store)
// Everything that must never reach the error log.
const codesSeen = new Set();
const sessionIds = new Set();

async function seed(server) {
  await seedAcme(server, op, {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    orgArgs: ['--display-name', 'Acme Corp'],
    connArgs: ['--auth-method', 'client_secret_basic'],
  });
}

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({ name: 'attacks', body: appConf() });
  h.cgi('app/index.cgi', APP_CGI);
  await seed(h);
  await h.start();
  ht = await Httpd.create({ name: 'attacks-timeout', body: appConf('OrgsLoginTimeout 2s') });
  ht.cgi('app/index.cgi', APP_CGI);
  await seed(ht);
  await ht.start();
  if (!PG_MODE) {
    hs = await Httpd.create({
      name: 'attacks-stored',
      body: appConf('OrgsLoginTimeout 2s\nOrgsLoginState store'),
    });
    hs.cgi('app/index.cgi', APP_CGI);
    await seed(hs);
    await hs.start();
  }
});

after(async () => {
  try {
    await h?.close();
  } finally {
    try {
      await ht?.close();
      await hs?.close();
    } finally {
      await op?.stop();
    }
  }
});

// ---- helpers ----------------------------------------------------------------

function browser(server = h) {
  return server.client({ headers: HTML });
}

function remember(url) {
  const code = new URL(url).searchParams.get('code');
  if (code) codesSeen.add(code);
}

// /orgs/login for acme -> the OP's /authorize -> the callback URL the OP
// sends the browser to (not requested yet). Returns it as a URL object.
async function startLogin(c, returnTo = '/app/') {
  const r1 = await c.get(`/orgs/login?organization=acme&return_to=${encodeURIComponent(returnTo)}`);
  assert.equal(r1.status, 302, `login start: ${r1.status} ${r1.body}`);
  assert.ok(r1.location.startsWith(`${op.issuer}/authorize?`), `login start went to ${r1.location}`);
  const r2 = await c.get(r1.location);
  assert.equal(r2.status, 302, `OP authorize: ${r2.status} ${r2.body}`);
  const cb = new URL(r2.location);
  assert.equal(cb.pathname, '/orgs/callback', `the OP sent the browser to ${cb}`);
  remember(cb.toString());
  return cb;
}

function sessionCookies(res) {
  return res.setCookies.filter((s) => {
    const [nv] = s.split(';');
    const eq = nv.indexOf('=');
    const name = nv.slice(0, eq).trim();
    const value = nv.slice(eq + 1).trim();
    return /^(__Host-)?orgs_(sess_|org$)/.test(name) && value !== '';
  });
}

function assertNoSession(res) {
  assert.deepEqual(sessionCookies(res), [], 'a session cookie was set');
}

async function assertStillLoggedOut(c) {
  const r = await c.get('/app/');
  assert.equal(r.status, 302, `/app/ answered ${r.status}: ${r.body}`);
  assert.ok(new URL(r.location).pathname === '/orgs/login', `/app/ went to ${r.location}`);
}

async function logSince(server, mark, re) {
  return server.waitForLog(re, { from: mark, timeoutMs: 3000 });
}

// One attack: the OP in `mode`, a fresh browser through the whole flow;
// the callback must be refused with `status` and the log line `re`.
async function idTokenAttack(mode, status, re) {
  await op.mode(mode);
  try {
    const c = browser();
    const cb = await startLogin(c);
    const mark = h.logMark();
    const res = await c.get(cb.toString());
    assert.equal(res.status, status, `${mode}: ${res.status} ${res.body.slice(0, 300)}`);
    await logSince(h, mark, re);
    assertNoSession(res);
    assert.doesNotMatch(h.errorLog(mark), /ORGS00229/, 'a session was opened');
    await assertStillLoggedOut(c);
    return res;
  } finally {
    await op.mode('good');
  }
}

// ---- the happy path ---------------------------------------------------------

test('mode good: the full login works and the CGI sees ORG_NAME=acme', async () => {
  await op.mode('good');
  const c = browser();
  const r0 = await c.get('/app/');
  assert.equal(r0.status, 302);
  assert.equal(new URL(r0.location).pathname, '/orgs/login');
  const cb = await startLogin(c);
  assert.equal(cb.searchParams.get('iss'), op.issuer);
  const mark = h.logMark();
  const res = await c.get(cb.toString());
  assert.equal(res.status, 302, res.body);
  assert.equal(res.rawLocation, '/app/');
  assert.equal(sessionCookies(res).length, 2, res.setCookies.join('\n'));
  await logSince(h, mark, /ORGS00229: user \S+ signed in to org acme via connection rogue/);
  for (const s of sessionCookies(res)) {
    const [nv] = s.split(';');
    if (nv.startsWith('orgs_sess_')) sessionIds.add(nv.slice(nv.indexOf('=') + 1));
  }
  const app = await c.get('/app/');
  assert.equal(app.status, 200, app.body);
  assert.match(app.body, /^ORG_NAME=acme$/m);
  assert.match(app.body, /^ORG_CONNECTION=rogue$/m);
  assert.match(app.body, /^REMOTE_USER=eve@rogue\.example\.com$/m);
  const last = await op.last();
  assert.equal(last.token.auth_method, 'client_secret_basic');
});

// ---- forged ID tokens --------------------------------------------------------

const tokenAttacks = [
  ['alg_none', /ORGS00224: .*ID token rejected: alg: unsigned tokens are refused/],
  ['hs256_with_pubkey', /ORGS00224: .*ID token rejected: alg: HMAC is refused/],
  ['bad_signature', /ORGS00224: .*ID token rejected: signature: verification failed/],
  ['wrong_aud', /ORGS00224: .*ID token rejected: aud: client_id not in audience/],
  ['wrong_iss', /ORGS00224: .*ID token rejected: iss: /],
  ['expired', /ORGS00224: .*ID token rejected: exp: token expired/],
  ['iat_future', /ORGS00224: .*ID token rejected: iat: issued in the future/],
  ['wrong_nonce', /ORGS00224: .*ID token rejected: nonce: does not match the login request/],
  ['missing_sub', /ORGS00224: .*ID token rejected: sub: missing/],
];

for (const [mode, re] of tokenAttacks) {
  test(`${mode}: 403 access_denied, ORGS00224, no session`, async () => {
    const res = await idTokenAttack(mode, 403, re);
    assert.match(res.body, /access_denied/);
  });
}

// A key that is not in the JWKS, even after the refresh it triggers, is
// what an abrupt key switch looks like: a temporary error, not a denial.
test('unknown_kid: 503 temporarily_unavailable with Retry-After, ORGS00582, no session', async () => {
  const res = await idTokenAttack('unknown_kid', 503,
    /ORGS00582: callback: connection rogue: ID token signed with a key not in the JWKS \(yet\): kid: no such key in the JWKS; answered 503/);
  assert.match(res.body, /temporarily_unavailable/);
  assert.equal(res.headers['retry-after'], '5');
});

// One customer's IdP asserting another customer's addresses: signed in,
// but the address is not taken as the user's email (REMOTE_USER falls back
// to the user id), so apps keyed on REMOTE_USER cannot be fooled.
async function emailAttack(email, sub, verified = true) {
  await op.mode('good', { email, sub, claims: { email_verified: verified } });
  try {
    const c = browser();
    const cb = await startLogin(c);
    const mark = h.logMark();
    const res = await c.get(cb.toString());
    assert.equal(res.status, 302, res.body);
    const app = await c.get('/app/');
    assert.equal(app.status, 200, app.body);
    assert.match(app.body, /^ORG_NAME=acme$/m);
    assert.match(app.body, /^REMOTE_USER=usr_[0-9A-Za-z]{16}$/m);
    assert.ok(!app.body.includes(`REMOTE_USER=${email}`));
    return { mark, app };
  } finally {
    await op.mode('good');
  }
}

test('email in a domain of another org is not trusted (ORGS00238)', async () => {
  await h.orgctlOk('org', 'create', 'victim', '--domain', 'victim.example');
  const { mark } = await emailAttack('ceo@victim.example', 'rogue-ceo');
  await logSince(h, mark, /ORGS00238: connection rogue asserted an email in a domain of org victim/);
});

test('email marked unverified is not trusted (ORGS00241)', async () => {
  const { mark } = await emailAttack('someone@elsewhere.example', 'rogue-unverified', false);
  await logSince(h, mark, /ORGS00241: connection rogue asserted an email marked unverified/);
});

test('duplicate state / code / iss in the callback: 400, ORGS00239, no session', async () => {
  // a percent-encoded name is the same parameter once decoded
  for (const extra of ['state=x', 'code=x', `iss=${encodeURIComponent(op.issuer)}`, 'st%61te=x', 'c%6Fde=x']) {
    const c = browser();
    const cb = await startLogin(c);
    const mark = h.logMark();
    const res = await c.get(`${cb.toString()}&${extra}`);
    assert.equal(res.status, 400, extra);
    assertNoSession(res);
    await logSince(h, mark, /ORGS00239: callback: parameter '(state|code|iss)' given more than once/);
    assert.doesNotMatch(h.errorLog(mark), /ORGS00223|ORGS00229/, 'went on to the token endpoint');
  }
});

test('wrong_iss_param (RFC 9207 mix-up): 400, ORGS00220, no session', async () => {
  await idTokenAttack('wrong_iss_param', 400, /ORGS00220: callback: iss parameter does not match/);
});

// RFC 9207 section 2.4: when the OP's metadata says
// authorization_response_iss_parameter_supported, a response without iss
// must be rejected.
test('no_iss_param with iss advertised in discovery: 400, ORGS00235, no session', async () => {
  await op.mode('no_iss_param');
  try {
    const c = browser();
    const cb = await startLogin(c);
    assert.equal(cb.searchParams.get('iss'), null);
    const mark = h.logMark();
    const res = await c.get(cb.toString());
    assert.equal(res.status, 400, `${res.status}`);
    assertNoSession(res);
    await logSince(h, mark, /ORGS00235: callback: connection rogue's IdP announces the iss parameter/);
    await assertStillLoggedOut(c);
  } finally {
    await op.mode('good');
  }
});

// ---- state ------------------------------------------------------------------

test('forged state: 400, ORGS00215, no session', async () => {
  const c = browser();
  await startLogin(c); // the browser has its orgs_browser cookie and a real pending login
  const forged = crypto.randomBytes(32).toString('base64url');
  const mark = h.logMark();
  const res = await c.get(`/orgs/callback?code=whatever&state=${forged}&iss=${encodeURIComponent(op.issuer)}`);
  assert.equal(res.status, 400);
  await logSince(h, mark, /ORGS00215: callback: state unknown, forged or already used/);
  assertNoSession(res);
  await assertStillLoggedOut(c);
});

test('missing state: 400, ORGS00214', async () => {
  const c = browser();
  const mark = h.logMark();
  const res = await c.get(`/orgs/callback?code=whatever&iss=${encodeURIComponent(op.issuer)}`);
  assert.equal(res.status, 400);
  await logSince(h, mark, /ORGS00214: callback: no state parameter/);
  assertNoSession(res);
  await assertStillLoggedOut(c);
});

test('replayed callback after a successful login: 400, ORGS00215, no new session', async () => {
  const c = browser();
  const cb = await startLogin(c);
  const ok = await c.get(cb.toString());
  assert.equal(ok.status, 302);
  assert.equal(sessionCookies(ok).length, 2);

  // the same browser replays it
  let mark = h.logMark();
  const again = await c.get(cb.toString());
  assert.equal(again.status, 400);
  await logSince(h, mark, /ORGS00215: callback: state unknown, forged or already used/);
  assertNoSession(again);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00223|ORGS00229/, 'the code was exchanged again');

  // an attacker who stole the URL and the orgs_browser cookie
  const thief = browser();
  thief.jar.set('orgs_browser', c.jar.get('orgs_browser').value);
  mark = h.logMark();
  const stolen = await thief.get(cb.toString());
  assert.equal(stolen.status, 400);
  await logSince(h, mark, /ORGS00215: callback: state unknown, forged or already used/);
  assertNoSession(stolen);
  await assertStillLoggedOut(thief);
});

// A login kept in the browser's cookie (a sealed orgs_plN, the default):
// another browser has none for this state, an expired one is gone from the
// jar, and the state is unknown (ORGS00215). A login kept in the store
// (OrgsLoginState store) is bound to the browser cookie it was started
// with (ORGS00217) and expires there (ORGS00215 expired).
function modes() {
  return [
    { server: h, other: /ORGS00215: callback: state unknown/ },
    ...(hs ? [{ server: hs, other: /ORGS00217: callback: state was issued to another browser/ }] : []),
  ];
}

test('state from another browser: 400, ORGS00215 or ORGS00217, no session', async () => {
  for (const { server, other } of modes()) {
    const a = browser(server);
    const b = browser(server);
    const cb = await startLogin(a);
    await startLogin(b); // b has its own orgs_browser cookie and pending login
    assert.notEqual(a.jar.get('orgs_browser').value, b.jar.get('orgs_browser').value);
    const mark = server.logMark();
    const res = await b.get(cb.toString());
    assert.equal(res.status, 400);
    await logSince(server, mark, other);
    assertNoSession(res);
    assert.doesNotMatch(server.errorLog(mark), /ORGS00223|ORGS00229/);
    await assertStillLoggedOut(b);

    // and a browser without any orgs_browser cookie
    const c = browser(server);
    const cb2 = await startLogin(a);
    const mark2 = server.logMark();
    const res2 = await c.get(cb2.toString());
    assert.equal(res2.status, 400);
    await logSince(server, mark2, other);
    assertNoSession(res2);
    await assertStillLoggedOut(c);
  }
});

test('a sealed login replayed with another browser cookie: 400, ORGS00258, no session', async () => {
  const a = browser();
  const cb = await startLogin(a);
  // the victim's sealed cookie, in a browser with a browser cookie of its own
  const attacker = browser();
  await startLogin(attacker);
  const sealed = a.jar.cookies.filter((c) => c.name.startsWith('orgs_pl'));
  assert.ok(sealed.length >= 1, 'the login is sealed in the browser');
  for (const c of sealed) attacker.jar.set(c.name, c.value);
  const mark = h.logMark();
  const res = await attacker.get(cb.toString());
  assert.equal(res.status, 400, res.body.slice(0, 300));
  await logSince(h, mark, /ORGS00258: callback: the sign-in kept in the browser's cookie was started with another browser cookie/);
  assertNoSession(res);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00223|ORGS00229/);
});

test('expired pending login (OrgsLoginTimeout 2s, 3 s later): 400, ORGS00215, no session', async () => {
  const cases = [{ server: ht, re: /ORGS00215: callback: state unknown/ }];
  if (hs) cases.push({ server: hs, re: /ORGS00215: callback: state expired/ });
  for (const { server, re } of cases) {
    const c = browser(server);
    const r1 = await c.get('/orgs/login?organization=acme&return_to=/app/');
    assert.equal(r1.status, 302, r1.body);
    const r2 = await c.get(r1.location);
    assert.equal(r2.status, 302);
    remember(r2.location);
    await sleep(3000);
    const mark = server.logMark();
    const res = await c.get(r2.location);
    assert.equal(res.status, 400, res.body.slice(0, 300));
    await logSince(server, mark, re);
    assertNoSession(res);
    assert.doesNotMatch(server.errorLog(mark), /ORGS00223|ORGS00229/);
    await assertStillLoggedOut(c);
  }
});

// ---- the authorization response and the code ----------------------------

test('code replay at the token endpoint: 502, ORGS00223 invalid_grant, no session', async () => {
  const x = browser();
  const cbx = await startLogin(x);
  const ok = await x.get(cbx.toString());
  assert.equal(ok.status, 302);
  const usedCode = cbx.searchParams.get('code');

  const y = browser();
  const cby = await startLogin(y);
  cby.searchParams.set('code', usedCode);
  const mark = h.logMark();
  const res = await y.get(cby.toString());
  assert.equal(res.status, 502, res.body.slice(0, 300));
  await logSince(h, mark, /ORGS00223: callback: connection rogue: code exchange failed: .*invalid_grant/);
  assertNoSession(res);
  const last = await op.last();
  assert.equal(last.token.params.code, usedCode, 'the module did not send the replayed code');
  await assertStillLoggedOut(y);
});

test('IdP error response with iss: 403 page showing access_denied, ORGS00221', async () => {
  const c = browser();
  const cb = await startLogin(c);
  const u = new URL(h.url('/orgs/callback'));
  u.searchParams.set('error', 'access_denied');
  u.searchParams.set('error_description', 'The user cancelled');
  u.searchParams.set('state', cb.searchParams.get('state'));
  u.searchParams.set('iss', op.issuer);
  const mark = h.logMark();
  const res = await c.get(u.toString());
  assert.equal(res.status, 403);
  assert.match(res.body, /access_denied/);
  await logSince(h, mark, /ORGS00221: callback: connection rogue answered error 'access_denied'/);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00223|ORGS00229/, 'the module went on to the token endpoint');
  assertNoSession(res);
  await assertStillLoggedOut(c);
});

test("hostile IdP error text: error_description logged, never shown; unknown code shown as access_denied", async () => {
  const c = browser();
  const cb = await startLogin(c);
  const phish = 'Your account is locked. Call +1-555-0100 and read us your password';
  const u = new URL(h.url('/orgs/callback'));
  u.searchParams.set('error', 'account_locked_call_support');
  u.searchParams.set('error_description', phish);
  u.searchParams.set('state', cb.searchParams.get('state'));
  u.searchParams.set('iss', op.issuer);
  const mark = h.logMark();
  const res = await c.get(u.toString());
  assert.equal(res.status, 403);
  assert.doesNotMatch(res.body, /locked|555-0100|password|account_locked_call_support/i, res.body);
  assert.match(res.body, /access_denied/);
  assert.match(res.body, /The identity provider refused the sign-in\./);
  await logSince(h, mark, /ORGS00221: callback: connection rogue answered error 'account_locked_call_support' \(Your account is locked/);
  assertNoSession(res);
  await assertStillLoggedOut(c);
});

test('missing code: 400, ORGS00222, no session', async () => {
  const c = browser();
  const cb = await startLogin(c);
  const u = new URL(h.url('/orgs/callback'));
  u.searchParams.set('state', cb.searchParams.get('state'));
  u.searchParams.set('iss', op.issuer);
  const mark = h.logMark();
  const res = await c.get(u.toString());
  assert.equal(res.status, 400);
  await logSince(h, mark, /ORGS00222: callback: no code parameter/);
  assertNoSession(res);
  await assertStillLoggedOut(c);
});

test('connection disabled on the org during the login: 403, ORGS00226, no session', async () => {
  const c = browser();
  const cb = await startLogin(c);
  await h.orgctlOk('org', 'disable-conn', 'acme', 'rogue');
  try {
    const mark = h.logMark();
    const res = await c.get(cb.toString());
    assert.equal(res.status, 403, res.body.slice(0, 300));
    assert.match(res.body, /access_denied/);
    await logSince(h, mark,
      /ORGS00226: access_denied: .* of connection rogue is not a member of org acme \(connection no longer enabled on the org\)/);
    assertNoSession(res);
    await assertStillLoggedOut(c);
  } finally {
    await h.orgctlOk('org', 'enable-conn', 'acme', 'rogue', '--auto-membership');
  }
  // and the connection works again once re-enabled
  const d = browser();
  const ok = await d.get((await startLogin(d)).toString());
  assert.equal(ok.status, 302);
  assert.equal(sessionCookies(ok).length, 2);
});

// ---- a state is single use, whatever the answer ----------------------------

// After a refused callback, the same state with the IdP's real code (the
// URL the OP sent the browser to) must not sign in: the refusal deleted the
// pending login, so the module answers 400 ORGS00215 without exchanging
// the code.
async function assertStateSpent(c, cb, why) {
  const mark = h.logMark();
  const res = await c.get(cb.toString());
  assert.equal(res.status, 400, `${why}: reuse answered ${res.status} ${res.body.slice(0, 300)}`);
  await logSince(h, mark, /ORGS00215: callback: state unknown, forged or already used/);
  assertNoSession(res);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00223|ORGS00229/, `${why}: the code was exchanged`);
  await assertStillLoggedOut(c);
}

test('state reused after a refused callback: 400, ORGS00215, no session', async () => {
  // the IdP's error response (ORGS00221)
  let c = browser();
  let cb = await startLogin(c);
  const err = new URL(h.url('/orgs/callback'));
  err.searchParams.set('error', 'access_denied');
  err.searchParams.set('state', cb.searchParams.get('state'));
  err.searchParams.set('iss', op.issuer);
  assert.equal((await c.get(err.toString())).status, 403);
  await assertStateSpent(c, cb, 'after an IdP error');

  // a response without code (ORGS00222)
  c = browser();
  cb = await startLogin(c);
  const nocode = new URL(cb);
  nocode.searchParams.delete('code');
  assert.equal((await c.get(nocode.toString())).status, 400);
  await assertStateSpent(c, cb, 'after a missing code');

  // a response with the wrong iss (ORGS00220)
  c = browser();
  cb = await startLogin(c);
  const mixup = new URL(cb);
  mixup.searchParams.set('iss', 'https://idp.invalid');
  assert.equal((await c.get(mixup.toString())).status, 400);
  await assertStateSpent(c, cb, 'after a wrong iss');

  // an ID token that fails verification (ORGS00224): the OP behaves again
  // for the replay, which must still not sign in
  await op.mode('bad_signature');
  try {
    c = browser();
    cb = await startLogin(c);
    const mark = h.logMark();
    assert.equal((await c.get(cb.toString())).status, 403);
    await logSince(h, mark, /ORGS00224: /);
  } finally {
    await op.mode('good');
  }
  await assertStateSpent(c, cb, 'after a rejected ID token');
});

test('an ID token whose sub the store cannot keep: 502, ORGS00253, state spent, no session', async () => {
  // (a sub over 255 bytes is refused earlier, with the ID token: ORGS00224)
  for (const sub of ['tab\there', 'caf\u00e9-user']) {
    await op.mode('good', { sub });
    let c;
    let cb;
    try {
      c = browser();
      cb = await startLogin(c);
      const mark = h.logMark();
      const res = await c.get(cb.toString());
      assert.equal(res.status, 502, `sub ${JSON.stringify(sub.slice(0, 20))}: ${res.status}`);
      await logSince(h, mark, /ORGS00253: callback: connection \S+: the ID token's sub is refused/);
      assertNoSession(res);
    } finally {
      await op.mode('good');
    }
    await assertStateSpent(c, cb, `after a refused sub ${JSON.stringify(sub.slice(0, 20))}`);
  }
});

test('the same callback sent twice at once: at most one session, the other refused', async () => {
  const c = browser();
  const cb = await startLogin(c);
  const mark = h.logMark();
  const answers = await Promise.all([c.get(cb.toString()), c.get(cb.toString())]);
  const signedIn = answers.filter((r) => r.status === 302);
  assert.ok(signedIn.length <= 1, `both signed in: ${answers.map((r) => r.status)}`);
  for (const r of signedIn) assert.equal(sessionCookies(r).length, 2);
  for (const r of answers.filter((x) => x.status !== 302)) {
    // replay (state consumed by the other) or the code spent at the OP
    assert.ok([400, 502].includes(r.status), `refusal answered ${r.status} ${r.body.slice(0, 300)}`);
    assertNoSession(r);
  }
  await logSince(h, mark, signedIn.length ? /ORGS00229: / : /ORGS00215: |ORGS00223: /);
  const log = h.errorLog(mark);
  assert.ok((log.match(/ORGS00229: /g) ?? []).length <= 1, 'two sessions were opened');
  // and a third try, whatever happened, finds the state spent
  const mark2 = h.logMark();
  const again = await c.get(cb.toString());
  assert.equal(again.status, 400);
  await logSince(h, mark2, /ORGS00215: callback: state unknown, forged or already used/);
  assertNoSession(again);
  assert.doesNotMatch(h.errorLog(mark2), /ORGS00223|ORGS00229/);
});

// ---- secrets ----------------------------------------------------------------

test('secrets never reach the error log: client secret, codes, ID tokens, session ids', async () => {
  assert.ok(codesSeen.size >= 10, `only ${codesSeen.size} codes seen`);
  for (const [name, server] of [['main', h], ['timeout', ht]]) {
    const log = server.errorLog();
    assert.ok(log.length > 0, `${name}: empty error log`);
    assert.ok(!log.includes(CLIENT_SECRET), `${name}: the client secret is in the error log`);
    for (const code of codesSeen) {
      assert.ok(!log.includes(code), `${name}: an authorization code is in the error log`);
    }
    for (const sid of sessionIds) {
      assert.ok(!log.includes(sid), `${name}: a session id is in the error log`);
    }
    // any JWS (ID token): base64url header '{"' ... two dots
    assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/,
      `${name}: something like an ID token is in the error log`);
  }
});
