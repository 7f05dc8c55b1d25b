// Layer 500: incoming request headers that could pose as the module's own
// ORG_* variables or X-Org-* headers never reach the app; the real values
// do. Checked on (a) an unprotected CGI, (b) a protected CGI after login,
// (c) a location with OrgsPassHeaders On (the app reads HTTP_X_ORG_*).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { ENV_CGI, describeHops, parseEnv, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };

// Every header carries a value the app must never see.
const SPOOF = {
  'X-Org-Id': 'org_SPOOFEDspoofed01',
  'Org-Id': 'org_SPOOFEDspoofed02',
  'X-Org-Name': 'SPOOFED-x-org-name',
  'ORG-NAME': 'SPOOFED-org-name',
  'x-org-meta-license': 'SPOOFED-premium',
  'Org-Meta-license': 'SPOOFED-premium-2',
  Org_Id: 'SPOOFED-underscore-id',
  X_Org_Name: 'SPOOFED-underscore-name',
  'X-ORG-ROLES': 'SPOOFED-admin',
  'org-roles': 'SPOOFED-admin-2',
  'X-Org-User': 'SPOOFED@evil.example',
  'X-Org-User-Id': 'usr_SPOOFED',
  'X-Org-Claim-email': 'SPOOFED@evil.example',
  'Org-Claim-email': 'SPOOFED2@evil.example',
  'X-Org-Connection': 'SPOOFED-conn',
  'x-org-display-name': 'SPOOFED display',
};

const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /hdr/>
    AuthType orgs
    OrgsPassHeaders On
    Require org-member
</Location>`;

let h;
let okta1;
let app;
let real;

before(async () => {
  h = await Httpd.create({ name: 'spoof', body });
  for (const d of ['open', 'app', 'hdr']) h.cgi(`${d}/index.cgi`, ENV_CGI);
  okta1 = await startOp({
    name: 'okta1',
    redirectUri: `${h.baseURL}/orgs/callback`,
    users: [{ email: 'alice@org1.example.com', sub: 'okta1-alice', name: 'Alice Anders' }],
  });
  await seed(h, {
    orgs: { org1: { displayName: 'Org One', meta: { license: 'corporate' } } },
    conns: [{ op: okta1 }],
    enable: [['org1', 'okta1', { autoMembership: true }]],
  });
  await h.start();
  app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&return_to=/app/',
    email: 'alice@org1.example.com',
  });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  real = r.env;
  assert.match(real.ORG_ID, /^org_[0-9A-Za-z]{16}$/);
});

after(async () => {
  await h?.close();
  await okta1?.stop();
});

function assertNoSpoof(text) {
  for (const v of Object.values(SPOOF)) {
    assert.ok(!text.includes(v), `spoofed value '${v}' reached the app:\n${text}`);
  }
  assert.doesNotMatch(text, /SPOOFED/);
}

// Every spoofing header was removed and logged by name.
async function assertScrubLogged(mark) {
  await h.waitForLog(/ORGS00301/, { from: mark });
  const log = h.errorLog(mark);
  for (const name of Object.keys(SPOOF)) {
    const re = new RegExp(`ORGS00301: removed incoming header '${name}' that could pose`, 'i');
    assert.match(log, re, `no ORGS00301 for ${name}`);
  }
}

test('(a) unprotected CGI: spoofed org headers are removed and logged', async () => {
  const mark = h.logMark();
  const res = await h.client().get('/open/', { headers: { ...HTML, ...SPOOF, 'X-Harmless': 'kept' } });
  assert.equal(res.status, 200);
  assertNoSpoof(res.body);
  const env = parseEnv(res.body);
  // an unrelated header still gets through: the scrub is targeted
  assert.equal(env.HTTP_X_HARMLESS, 'kept');
  for (const k of Object.keys(env)) {
    assert.doesNotMatch(k, /^(HTTP_X_ORG_|HTTP_ORG_|ORG_)/, `${k}=${env[k]} reached the CGI`);
  }
  assert.equal(env.REMOTE_USER, undefined);
  await assertScrubLogged(mark);
});

test('(b) protected CGI after login: the real ORG_* values, never the spoofed ones', async () => {
  const mark = h.logMark();
  const res = await app.get('/app/', { headers: { ...HTML, ...SPOOF } });
  assert.equal(res.status, 200);
  assertNoSpoof(res.body);
  const env = parseEnv(res.body);
  assert.equal(env.ORG_ID, real.ORG_ID);
  assert.equal(env.ORG_NAME, 'org1');
  assert.equal(env.ORG_DISPLAY_NAME, 'Org One');
  assert.equal(env.ORG_META_license, 'corporate');
  assert.equal(env.ORG_CONNECTION, 'okta1');
  assert.equal(env.ORG_ROLES, '');
  assert.equal(env.ORG_USER_ID, real.ORG_USER_ID);
  assert.equal(env.ORG_CLAIM_email, 'alice@org1.example.com');
  assert.equal(env.REMOTE_USER, 'alice@org1.example.com');
  for (const k of Object.keys(env)) {
    assert.doesNotMatch(k, /^(HTTP_X_ORG_|HTTP_ORG_)/, `${k}=${env[k]} reached the CGI`);
  }
  await assertScrubLogged(mark);
});

test('(c) OrgsPassHeaders On: X-Org-* carry the real values, spoofed ones never', async () => {
  const mark = h.logMark();
  const res = await app.get('/hdr/', { headers: { ...HTML, ...SPOOF } });
  assert.equal(res.status, 200);
  assertNoSpoof(res.body);
  const env = parseEnv(res.body);
  assert.equal(env.HTTP_X_ORG_ID, real.ORG_ID);
  assert.equal(env.HTTP_X_ORG_NAME, 'org1');
  assert.equal(env.HTTP_X_ORG_DISPLAY_NAME, 'Org One');
  assert.equal(env.HTTP_X_ORG_META_LICENSE, 'corporate');
  assert.equal(env.HTTP_X_ORG_CONNECTION, 'okta1');
  assert.equal(env.HTTP_X_ORG_USER, 'alice@org1.example.com');
  assert.equal(env.HTTP_X_ORG_USER_ID, real.ORG_USER_ID);
  assert.equal(env.HTTP_X_ORG_CLAIM_EMAIL, 'alice@org1.example.com');
  // the environment too
  assert.equal(env.ORG_ID, real.ORG_ID);
  assert.equal(env.ORG_NAME, 'org1');
  // nothing named Org-* (without X-) reaches the app
  for (const k of Object.keys(env)) assert.doesNotMatch(k, /^HTTP_ORG_/, k);
  await assertScrubLogged(mark);
});

test('(c) without a session the spoofed headers do not help: login redirect, headers logged', async () => {
  const mark = h.logMark();
  const res = await h.client().get('/hdr/', { headers: { ...HTML, ...SPOOF } });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?return_to=%2Fhdr%2F/);
  assertNoSpoof(res.body);
  await assertScrubLogged(mark);
  await h.waitForLog(/ORGS00202/, { from: mark });
});

test('a forged session cookie and orgs_org do not authenticate', async () => {
  const mark = h.logMark();
  const res = await h.client().get('/app/', {
    headers: { ...HTML, ...SPOOF, cookie: 'orgs_org=org1; orgs_sess_org1=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
  });
  assert.equal(res.status, 302);
  await h.waitForLog(/ORGS00101: session for org org1 no longer valid/, { from: mark });
});
