// Layer 900: an internal issuer is the operator's decision, never the
// tenant's DNS. A tenant controls what its issuer's name resolves to: a
// name pointed at a loopback, private or link-local address must not make
// the server call there (the back channel's SSRF guard used to allow any
// internal target when the issuer's own name resolved to an internal
// address). Here the hostile OP (tests/idp/rogue.mjs) listens on
// 127.0.0.1, as an internal service would; httpd lists only the name
// `localhost` in OrgsBackchannelAllowInternal, which resolves to that very
// address: the connection to http://127.0.0.1:PORT is refused anyway
// (502, ORGS00581, nothing reaches the OP), and it works once the operator
// lists the address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const HTML = { accept: 'text/html' };
const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = 'rogue-secret-for-internal-issuer';
const START = '/orgs/login?organization=acme&return_to=%2Fapp%2F';

let h;
let rogue;

before(async () => {
  rogue = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({
    name: 'internal-issuer',
    allowInternal: 'localhost',
    body: `<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.file('htdocs/app/index.html', 'protected page\n');
  await seedAcme(h, rogue, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await h.start();
});

after(async () => {
  await h?.close();
  await rogue?.stop();
});

test('an issuer resolving to an internal address the operator did not list: 502, ORGS00581, no call', async () => {
  const before = await rogue.counts();
  const mark = h.logMark();
  const res = await h.client().get(START, { headers: HTML });
  assert.equal(res.status, 502, `${res.status} ${res.location ?? ''}`);
  await h.waitForLog(
    /ORGS00581: connection rogue: back-channel endpoint refused: .*loopback address that OrgsBackchannelAllowInternal does not list/,
    { from: mark },
  );
  const now = await rogue.counts();
  assert.equal(now.discovery, before.discovery, 'the discovery document was fetched');
  assert.equal(now.jwks, before.jwks);
  assert.equal(now.token, before.token);
});

test('a bad OrgsBackchannelAllowInternal value stops httpd at config time', async () => {
  for (const bad of ['10.0.0.0/33', 'http://idp.example', 'idp.example:443', '::/129']) {
    const t = await Httpd.create({ name: 'internal-bad', allowInternal: bad });
    try {
      const r = await t.configtest();
      assert.notEqual(r.code, 0, `${bad} accepted`);
      assert.match(r.stderr + r.stdout, /OrgsBackchannelAllowInternal/);
    } finally {
      await t.close();
    }
  }
});

test('listed by the operator (the address), the same issuer is reached', async () => {
  h.opts.allowInternal = '127.0.0.0/8';
  h.writeConf();
  await h.graceful({ waitMs: 1500 });
  // the refusal above counts as a failed fetch: the issuer backs off
  // for a few seconds before it is asked again
  let res;
  for (let i = 0; i < 40; i++) {
    res = await h.client().get(START, { headers: HTML });
    if (res.status === 302) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(res.status, 302, `${res.status} ${res.body?.slice(0, 200)}`);
  assert.ok(res.location.startsWith(`${rogue.issuer}/authorize?`), res.location);
  assert.ok((await rogue.counts()).discovery >= 1);
});
