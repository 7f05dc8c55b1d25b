// Layer 350: TRACE is answered by httpd's core before any location applies
// and echoes the request's headers. The module's cookies are stripped from
// that echo whatever OrgsStripCookies says, for the server or the location
// the TRACE names: no app answers a TRACE, and the session cookie is valid
// for every path, so no setting may echo it.
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
  h.cgi('strip/keep/cookies.cgi', `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$HTTP_COOKIE"
`);
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

const STRIPPED = /SESSION-SECRET-1|BROWSER-SECRET-2|orgs_/;

test('TRACE with OrgsStripCookies Off for the server: the module\'s cookies are not echoed', async () => {
  assert.doesNotMatch(await trace('/index.html'), STRIPPED);
});

test('TRACE to a location with OrgsStripCookies On, and to one nested in it that turns it Off: not echoed', async () => {
  assert.doesNotMatch(await trace('/strip/index.html'), STRIPPED);
  assert.doesNotMatch(await trace('/strip/keep/index.html'), STRIPPED);
});

test('a GET where OrgsStripCookies is Off still reaches the app with the cookies as sent (the setting holds outside TRACE)', async () => {
  const r = await h.client().request('GET', '/strip/keep/cookies.cgi', { headers: { cookie: COOKIE }, cookies: false });
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /orgs_sess_acme=SESSION-SECRET-1/);
});
