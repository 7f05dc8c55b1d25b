// Layer 320: cookie attributes. Every cookie the module sets is HttpOnly
// and SameSite=Lax; behind an https public URL (OrgsPublicURL https://…, as
// behind a TLS-terminating proxy) they also carry Secure and the __Host-
// prefix, and only __Host- cookies are read back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', 'sec-fetch-site': 'same-origin' };

let op;
let plain;
let tls;

function server(name, serverOrgs) {
  return startAcmeServer(op, { name, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, serverOrgs });
}

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  plain = await server('cookies_plain', '');
  tls = await server('cookies_tls', 'OrgsPublicURL https://apps.example.test');
});

after(async () => {
  try {
    await plain?.close();
    await tls?.close();
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
  // the first start of a browser: the cookie, and one redirect back
  const res = await c.get('/orgs/login?organization=acme', { cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(new URL(res.location).searchParams.get('cookie_check'), '1');
  const cookies = setCookies(res);
  assert.ok(cookies.length >= 1, 'a browser-binding cookie is set');
  for (const ck of cookies) {
    assert.match(ck, /^orgs_browser=[A-Za-z0-9_-]{43};/, ck);
    assert.match(ck, /; HttpOnly/, ck);
    assert.match(ck, /; SameSite=Lax/, ck);
    assert.match(ck, /; Path=\//, ck);
    assert.doesNotMatch(ck, /Secure/, ck);
  }
});

test('https public URL: __Host- prefix and Secure; redirect URI on the public URL', async () => {
  const c = tls.client({ headers: HTML });
  const res = await c.get('/orgs/login?organization=acme', { cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  const back = await c.get(res.location);
  assert.equal(back.status, 302);
  const auth = new URL(back.location);
  assert.equal(auth.searchParams.get('redirect_uri'), 'https://apps.example.test/orgs/callback');
  const cookies = setCookies(res);
  assert.ok(cookies.length >= 1);
  for (const ck of cookies) {
    assert.match(ck, /^__Host-orgs_browser=/, ck);
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
  const browserCookie = first.headers.getSetCookie().find((c) => c.startsWith('__Host-orgs_browser='));
  assert.ok(browserCookie, 'browser-binding cookie');
  const bind = browserCookie.split(';')[0];
  // the cookie self-redirect, followed with the cookie (behind the public
  // URL, replayed on the loopback port)
  const again = new URL(first.headers.get('location'), tls.baseURL);
  assert.equal(again.searchParams.get('cookie_check'), '1');
  const start = await fetch(`${tls.baseURL}${again.pathname}${again.search}`, {
    headers: { ...HTML, cookie: bind },
    redirect: 'manual',
  });
  assert.equal(start.status, 302);
  // a pending login kept in a cookie (a PostgreSQL store) goes back too,
  // under the __Host- prefix as well
  const pending = start.headers.getSetCookie().map((c) => c.split(';')[0]);
  for (const ck of pending) assert.match(ck, /^__Host-/, ck);
  const jar = [bind, ...pending].join('; ');

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
