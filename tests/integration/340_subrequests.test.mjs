// Layer 340: subrequests (SSI includes, DirectoryIndex) reuse the main
// request's session only within the same org: a page of org acme that
// includes a file of a location fixed to org beta does not get it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Httpd } from './lib/httpd.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html' };

let op;
let h;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({
    name: 'subrequests',
    modules: ['include'],
    body: `AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
<Directory "{{HTDOCS}}">
    Options +Includes
</Directory>
<Location /acme/>
    AuthType orgs
    OrgsOrganization acme
    Require org-member
</Location>
<Location /beta/>
    AuthType orgs
    OrgsOrganization beta
    Require org-member
</Location>`,
  });
  h.file('htdocs/acme/page.shtml',
    'A:<!--#include virtual="/acme/own.txt" -->|B:<!--#include virtual="/beta/secret.txt" -->\n');
  h.file('htdocs/acme/own.txt', 'acme-own');
  h.file('htdocs/beta/secret.txt', 'beta-secret');
  await seedAcme(h, op, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await h.orgctlOk('org', 'create', 'beta');
  await h.orgctlOk('org', 'enable-conn', 'beta', 'rogue', '--auto-membership');
  await h.start();
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

test('an include of another org\'s location is not served with this org\'s session', async () => {
  const c = h.client({ headers: HTML });
  const start = await c.get('/orgs/login?organization=acme&return_to=%2Facme%2Fpage.shtml');
  assert.equal(start.status, 302);
  const auth = await fetch(start.location, { redirect: 'manual' });
  const cb = await c.get(auth.headers.get('location'));
  assert.equal(cb.status, 302, cb.body);

  const page = await c.get('/acme/page.shtml');
  assert.equal(page.status, 200, page.body);
  assert.match(page.body, /A:acme-own\|/, 'the same org\'s include is served');
  assert.doesNotMatch(page.body, /beta-secret/, 'the other org\'s file must not be included');
  // and directly: /beta/ wants its own login
  const direct = await c.get('/beta/secret.txt');
  assert.equal(direct.status, 302);
  assert.match(direct.location, /organization=beta/);
});
