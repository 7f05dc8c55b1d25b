// Layer 320: cookie attributes. Every cookie the module sets is HttpOnly
// and SameSite=Lax; behind an https public URL (OrgsPublicURL https://…, as
// behind a TLS-terminating proxy) they also carry Secure and the __Host-
// prefix, and only __Host- cookies are read back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './lib/rogue.mjs';
import { PG_MODE } from './lib/storemode.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', 'sec-fetch-site': 'same-origin' };

let op;
let plain;
let tls;
let stored; // OrgsLoginState store: the pending login in the store, the cookie check first

function server(name, serverOrgs) {
  return startAcmeServer(op, { name, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, serverOrgs });
}

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  plain = await server('cookies_plain', '');
  tls = await server('cookies_tls', 'OrgsPublicURL https://apps.example.test');
  if (!PG_MODE) stored = await server('cookies_stored', 'OrgsLoginState store');
});

after(async () => {
  try {
    await plain?.close();
    await tls?.close();
    await stored?.close();
  } finally {
    await op?.stop();
  }
});

function setCookies(res) {
  const all = res.headers?.['set-cookie'] ?? res.setCookies ?? [];
  return [].concat(all);
}

test('plain http: HttpOnly, SameSite=Lax, Path=/, no Secure', async () => {
  const c = plain.client({ headers: HTML });
  // a login start goes to the IdP at once, sealed in the browser's cookie
  // with the browser cookie it is bound to
  const res = await c.get('/orgs/login?organization=acme', { cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  assert.ok(res.location.startsWith(`${op.issuer}/authorize?`), res.location);
  const cookies = setCookies(res);
  assert.ok(cookies.some((ck) => /^orgs_browser=[A-Za-z0-9_-]{43};/.test(ck)), cookies.join('\n'));
  assert.ok(cookies.some((ck) => /^orgs_pl1=[A-Za-z0-9_-]{10}\.\d+\.[A-Za-z0-9_-]+;/.test(ck)),
    cookies.join('\n'));
  for (const ck of cookies) {
    assert.match(ck, /; HttpOnly/, ck);
    assert.match(ck, /; SameSite=Lax/, ck);
    assert.match(ck, /; Path=\//, ck);
    assert.doesNotMatch(ck, /Secure/, ck);
  }
});

test('plain http, OrgsLoginState store: the browser cookie first, and one redirect back', async () => {
  if (!stored) return; // a PostgreSQL store keeps sign-ins in progress in the cookie
  const c = stored.client({ headers: HTML });
  const res = await c.get('/orgs/login?organization=acme', { cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(new URL(res.location).searchParams.get('cookie_check'), '1');
  const cookies = setCookies(res);
  assert.equal(cookies.length, 1, cookies.join('\n'));
  assert.match(cookies[0], /^orgs_browser=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
  const back = await c.get(res.location, { cookieCheck: 'manual' });
  assert.equal(back.status, 302);
  assert.ok(back.location.startsWith(`${op.issuer}/authorize?`), back.location);
  assert.deepEqual(setCookies(back), [], 'nothing more: the login is in the store');
});

test('https public URL: __Host- prefix and Secure; redirect URI on the public URL', async () => {
  const c = tls.client({ headers: HTML });
  const res = await c.get('/orgs/login?organization=acme', { cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  const auth = new URL(res.location);
  assert.equal(auth.searchParams.get('redirect_uri'), 'https://apps.example.test/orgs/callback');
  const cookies = setCookies(res);
  assert.ok(cookies.length >= 2, cookies.join('\n'));
  for (const ck of cookies) {
    assert.match(ck, /^__Host-orgs_(browser|pl1)=/, ck);
    assert.match(ck, /; Secure/, ck);
    assert.match(ck, /; HttpOnly/, ck);
    assert.match(ck, /; SameSite=Lax/, ck);
    assert.match(ck, /; Path=\//, ck);
    assert.doesNotMatch(ck, /Domain=/i, ck);
  }
});

// A full login behind the https public URL: the IdP's redirect goes to the
// public URL, so the callback is replayed here on the loopback port.
test('https public URL: the session lives in __Host- cookies only', async () => {
  const first = await fetch(`${tls.baseURL}/orgs/login?organization=acme&return_to=%2Fapp%2F`, {
    headers: HTML,
    redirect: 'manual',
  });
  assert.equal(first.status, 302);
  // the browser cookie and the sealed pending login, both __Host-
  const jarCookies = first.headers.getSetCookie().map((c) => c.split(';')[0]);
  assert.ok(jarCookies.some((c) => c.startsWith('__Host-orgs_browser=')), 'browser-binding cookie');
  for (const ck of jarCookies) assert.match(ck, /^__Host-/, ck);
  const jar = jarCookies.join('; ');
  const start = first;

  const auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  assert.equal(auth.status, 302);
  const back = new URL(auth.headers.get('location'));
  assert.equal(`${back.origin}${back.pathname}`, 'https://apps.example.test/orgs/callback');

  const cb = await fetch(`${tls.baseURL}/orgs/callback${back.search}`, {
    headers: { ...HTML, cookie: jar },
    redirect: 'manual',
  });
  assert.equal(cb.status, 302, await cb.text());
  assert.equal(cb.headers.get('location'), '/app/');
  const set = cb.headers.getSetCookie();
  const sess = set.find((c) => c.startsWith('__Host-orgs_sess_acme='));
  const org = set.find((c) => c.startsWith('__Host-orgs_org='));
  assert.ok(sess && org, set.join('\n'));
  for (const ck of [sess, org]) {
    assert.match(ck, /; Secure/, ck);
    assert.match(ck, /; HttpOnly/, ck);
    assert.match(ck, /; SameSite=Lax/, ck);
    assert.match(ck, /; Max-Age=\d+/, ck);
  }
  const sid = sess.split(';')[0].split('=')[1];

  const ok = await fetch(`${tls.baseURL}/app/`, {
    headers: { ...HTML, cookie: `__Host-orgs_sess_acme=${sid}; __Host-orgs_org=acme` },
    redirect: 'manual',
  });
  assert.equal(ok.status, 200, 'the __Host- session cookie is accepted');
  assert.match(await ok.text(), /protected page/);
  // the same id under the unprefixed name (as a sibling host could plant it)
  // is not read (fetch() is not a navigation, hence 401 rather than 302)
  const planted = await fetch(`${tls.baseURL}/app/`, {
    headers: { ...HTML, cookie: `orgs_sess_acme=${sid}; orgs_org=acme` },
    redirect: 'manual',
  });
  assert.equal(planted.status, 401);
});

// A session cookie sent twice with different values (one planted by a
// sibling host or for a narrower path) is not trusted: signed out, logged.
test('a cookie sent twice with different values is ignored (ORGS00240)', async () => {
  const c = plain.client({ headers: HTML });
  const start = await c.get('/orgs/login?organization=acme&return_to=%2Fapp%2F');
  assert.equal(start.status, 302);
  const auth = await fetch(start.location, { redirect: 'manual' });
  const cb = await c.get(auth.headers.get('location'));
  assert.equal(cb.status, 302, cb.body);
  const sid = c.jar.get('orgs_sess_acme').value;

  const same = await plain.client().get('/app/', {
    headers: { ...HTML, cookie: `orgs_sess_acme=${sid}; orgs_org=acme; orgs_sess_acme=${sid}` },
  });
  assert.equal(same.status, 200, 'the same value twice is fine');

  const mark = plain.logMark();
  const planted = await plain.client().get('/app/', {
    headers: { ...HTML, cookie: `orgs_sess_acme=planted; orgs_org=acme; orgs_sess_acme=${sid}` },
  });
  assert.equal(planted.status, 302);
  assert.match(planted.location, /\/orgs\/login\?/);
  await plain.waitForLog(/ORGS00240: cookie orgs_sess_acme sent twice with different values/, {
    from: mark,
  });
  // in two Cookie header fields as well
  const split = await plain.client().get('/app/', {
    headers: { ...HTML, cookie: [`orgs_sess_acme=${sid}; orgs_org=acme`, 'orgs_sess_acme=planted'] },
  });
  assert.equal(split.status, 302);
});
