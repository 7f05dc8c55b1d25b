// Layer 900: TRACE echoes the request back, headers included, to whoever
// can make a browser send it. The module's own cookies (the session, the
// browser cookie) are taken out of the request before any handler runs, so
// even a server that leaves httpd's default `TraceEnable On` does not echo
// them; `TraceEnable Off` (the demo's and the quickstart's configuration)
// refuses TRACE altogether.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';

const COOKIE = 'orgs_sess_acme=SESSION-SECRET-1; orgs_browser=BROWSER-SECRET-2; app_pref=dark';
let h;

before(async () => {
  h = await Httpd.create({ name: 'trace' });
  h.file('htdocs/index.html', 'home\n');
  await h.start();
});

after(async () => {
  await h?.close();
});

test('TRACE (httpd default On) echoes the request without the module\'s cookies', async () => {
  const r = await h.client().request('TRACE', '/index.html', { headers: { cookie: COOKIE }, cookies: false });
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /^TRACE \/index\.html/);
  assert.match(r.body, /app_pref=dark/, 'the app\'s own cookie is echoed as sent');
  assert.doesNotMatch(r.body, /SESSION-SECRET-1|BROWSER-SECRET-2|orgs_/);
});

test('TraceEnable Off refuses TRACE', async () => {
  h.writeConf(`TraceEnable Off\n${h.opts.body ?? ''}`);
  await h.graceful({ waitMs: 1500 });
  const r = await h.client().request('TRACE', '/index.html', { headers: { cookie: COOKIE }, cookies: false });
  assert.equal(r.status, 405);
  assert.doesNotMatch(r.body, /SESSION-SECRET-1/);
});
