// Layer 500: what the app is told about the email. An email the sign-in
// does not trust (marked unverified, or in a domain another org owns)
// never reaches the app under the names it reads (ORG_CLAIM_email,
// ORG_CLAIM_email_verified, X-Org-Claim-Email...), in any spelling;
// ORG_EMAIL / X-Org-Email carries the email only when it is trusted; two
// claims whose names collide after case-folding and '-' / '_' / '.'
// mapping are both left out. A CGI prints its environment, against a
// real httpd and a hostile OP (tests/idp/rogue.mjs). Also: the JWKS is
// parsed (and its keys checked) at most once per httpd process, whatever
// the number of logins (ORGS00500 counts the parses).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Httpd } from './lib/httpd.mjs';
import { ENV_CGI, parseEnv } from './lib/flow.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { Accept: 'text/html' };

let op;
let h;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({
    name: 'email-trust',
    body: `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /hdr/>
    AuthType orgs
    OrgsPassHeaders On
    Require org-member
</Location>`,
  });
  for (const d of ['app', 'hdr']) h.cgi(`${d}/index.cgi`, ENV_CGI);
  await seedAcme(h, op, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  // another customer owns victim.example and does not use the rogue connection
  await h.orgctlOk('org', 'create', 'victim', '--domain', 'victim.example');
  await h.start();
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

// A whole login of a fresh browser with the OP in mode `good` and `extra`
// (sub, email, claims); returns the environment of /app/ and of /hdr/.
async function loginAndRead(extra) {
  await op.mode('good', extra);
  const c = h.client({ headers: HTML });
  const r1 = await c.get('/orgs/login?organization=acme&return_to=/app/');
  assert.equal(r1.status, 302, `login start: ${r1.status}`);
  const r2 = await c.get(r1.location);
  assert.equal(r2.status, 302, `OP authorize: ${r2.status}`);
  const r3 = await c.get(r2.location);
  assert.equal(r3.status, 302, `callback: ${r3.status} ${r3.body.slice(0, 300)}`);
  const app = await c.get('/app/');
  assert.equal(app.status, 200, `/app/: ${app.status}`);
  const hdr = await c.get('/hdr/');
  assert.equal(hdr.status, 200, `/hdr/: ${hdr.status}`);
  return { env: parseEnv(app.body), hdr: parseEnv(hdr.body), body: app.body + hdr.body };
}

// No variable or header of any spelling carries an email claim.
function assertNoEmailExport({ env, hdr }, what) {
  for (const [name, vars] of [['env', env], ['hdr', hdr]]) {
    for (const k of Object.keys(vars)) {
      assert.doesNotMatch(k, /^(HTTP_X_)?ORG_(CLAIM_EMAIL|CLAIM_EMAIL_VERIFIED|EMAIL)$/i,
        `${what}: ${k}=${vars[k]} reached the app (${name})`);
    }
  }
}

test('a trusted email: ORG_EMAIL and the email claims, in both forms', async () => {
  const sub = `trusted-${crypto.randomBytes(4).toString('hex')}`;
  const r = await loginAndRead({ sub, email: 'eve@rogue.example.com' });
  assert.equal(r.env.ORG_EMAIL, 'eve@rogue.example.com');
  assert.equal(r.env.ORG_CLAIM_email, 'eve@rogue.example.com');
  assert.equal(r.env.ORG_CLAIM_email_verified, 'true');
  assert.equal(r.env.REMOTE_USER, 'eve@rogue.example.com');
  assert.equal(r.hdr.HTTP_X_ORG_EMAIL, 'eve@rogue.example.com');
  assert.equal(r.hdr.HTTP_X_ORG_CLAIM_EMAIL, 'eve@rogue.example.com');
  assert.equal(r.env.ORG_CLAIM_sub, sub);
});

test('an email marked unverified is not exported under any name', async () => {
  const mark = h.logMark();
  const r = await loginAndRead({
    sub: `unverified-${crypto.randomBytes(4).toString('hex')}`,
    email: 'boss@rogue.example.com',
    claims: { email_verified: false, EMAIL_VERIFIED: true },
  });
  assertNoEmailExport(r, 'unverified');
  assert.ok(!r.body.includes('boss@rogue.example.com'), `the address reached the app:\n${r.body}`);
  assert.match(r.env.REMOTE_USER, /^usr_/);
  assert.match(r.env.ORG_CLAIM_sub, /^unverified-/); // the other claims still arrive
  await h.waitForLog(/ORGS00241/, { from: mark });
});

test('an email in a domain of another org is not exported under any name', async () => {
  const mark = h.logMark();
  const r = await loginAndRead({
    sub: `foreign-${crypto.randomBytes(4).toString('hex')}`,
    email: 'ceo@victim.example',
    claims: { Email: 'ceo@victim.example' },
  });
  assertNoEmailExport(r, 'foreign domain');
  assert.ok(!r.body.includes('ceo@victim.example'), `the address reached the app:\n${r.body}`);
  assert.match(r.env.REMOTE_USER, /^usr_/);
  await h.waitForLog(/ORGS00238/, { from: mark });
});

test('claims whose names collide after case-folding and mapping are both left out', async () => {
  const r = await loginAndRead({
    sub: `collide-${crypto.randomBytes(4).toString('hex')}`,
    email: 'eve@rogue.example.com',
    claims: {
      EMAIL: 'admin@rogue.example.com',
      role: 'viewer',
      Role: 'admin',
      'given-name': 'Eve',
      'given.name': 'Mallory',
      team: 'blue',
    },
  });
  for (const [vars, pre] of [[r.env, 'ORG_CLAIM_'], [r.hdr, 'HTTP_X_ORG_CLAIM_']]) {
    for (const k of Object.keys(vars)) {
      assert.doesNotMatch(k, new RegExp(`^${pre}(email|role|given_name)$`, 'i'),
        `${k}=${vars[k]} reached the app`);
    }
  }
  assert.ok(!r.body.includes('admin@rogue.example.com'));
  assert.ok(!r.body.includes('Mallory'));
  // the email the sign-in trusted is still told, under its own name
  assert.equal(r.env.ORG_EMAIL, 'eve@rogue.example.com');
  assert.equal(r.hdr.HTTP_X_ORG_EMAIL, 'eve@rogue.example.com');
  assert.equal(r.env.ORG_CLAIM_team, 'blue');
  assert.equal(r.hdr.HTTP_X_ORG_CLAIM_TEAM, 'blue');
});

test('the JWKS is parsed at most once per httpd process, whatever the logins', async () => {
  for (let i = 0; i < 6; i++) {
    await loginAndRead({ sub: `many-${i}`, email: 'eve@rogue.example.com' });
  }
  const lines = h.errorLog().split('\n').filter((l) => l.includes('ORGS00500'));
  assert.ok(lines.length >= 1, 'no JWKS parse was logged');
  const perPid = new Map();
  for (const l of lines) {
    const pid = (l.match(/\[pid (\d+)/) || [])[1];
    assert.ok(pid, `no pid in ${l}`);
    perPid.set(pid, (perPid.get(pid) || 0) + 1);
  }
  for (const [pid, n] of perPid) {
    assert.equal(n, 1, `process ${pid} parsed the same JWKS ${n} times:\n${lines.join('\n')}`);
  }
});
