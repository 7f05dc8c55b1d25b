// Layer 350: TRACE is answered by httpd before any location applies, yet
// the module's cookies are stripped from its echo by the OrgsStripCookies
// of the location the TRACE names: a location that turns stripping on
// strips even when the server's setting is Off, and one that turns it off
// echoes the cookies as sent while the rest of the server strips them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';

const COOKIE = 'orgs_sess_acme=SESSION-SECRET-1; orgs_browser=BROWSER-SECRET-2; app_pref=dark';
let h;

before(async () => {
  h = await Httpd.create({
    name: 'tracelocation',
    body: `OrgsStripCookies Off
<Location /strip/>
    OrgsStripCookies On
</Location>
<Location /strip/keep/>
    OrgsStripCookies Off
</Location>`,
  });
  for (const p of ['index.html', 'strip/index.html', 'strip/keep/index.html']) h.file(`htdocs/${p}`, 'page\n');
  await h.start();
});

after(async () => {
  await h?.close();
});

const trace = async (path) => {
  const r = await h.client().request('TRACE', path, { headers: { cookie: COOKIE }, cookies: false });
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, new RegExp(`^TRACE ${path.replace(/\./g, '\\.')}`));
  assert.match(r.body, /app_pref=dark/, 'the app\'s own cookie is echoed as sent');
  return r.body;
};

test('TRACE to a location with OrgsStripCookies On (server Off): the module\'s cookies are not echoed', async () => {
  const body = await trace('/strip/index.html');
  assert.doesNotMatch(body, /SESSION-SECRET-1|BROWSER-SECRET-2|orgs_/);
});

test('TRACE elsewhere, and to a nested location that turns it Off again: echoed as sent', async () => {
  assert.match(await trace('/index.html'), /SESSION-SECRET-1/);
  assert.match(await trace('/strip/keep/index.html'), /orgs_sess_acme=SESSION-SECRET-1; orgs_browser=BROWSER-SECRET-2/);
});

test('TRACE to a path with no file behind it: its location still decides', async () => {
  assert.doesNotMatch(await trace('/strip/none.html'), /SESSION-SECRET-1|BROWSER-SECRET-2|orgs_/);
});
