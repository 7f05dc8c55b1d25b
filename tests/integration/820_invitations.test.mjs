// Layer 800: invitations end to end, the audit log and usage counts,
// against a real httpd and real OpenID Providers. An invitation made with
// orgctl carries a URL; following it, the invitee signs in through a
// connection the org enabled (with or without auto-membership) and becomes
// a member with the invitation's roles. Refused: expired, revoked, replayed,
// another org's ticket, a ticket followed to a connection the org does not
// enable, a sign-in whose verified email is not the invited one. Each
// refusal: its status, its error code, its log tag.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { ENV_CGI, describeHops, errorCode, memberList, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };

let h;
let okta1;
let partner;

before(async () => {
  h = await Httpd.create({
    name: 'invite',
    body: `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.cgi('app/index.cgi', ENV_CGI);
  const redirectUri = `${h.baseURL}/orgs/callback`;
  [okta1, partner] = await Promise.all([
    startOp({ name: 'okta1', redirectUri, users: [{ email: 'alice@org1.example.com' }] }),
    startOp({
      name: 'partner',
      redirectUri,
      users: [
        { email: 'bob@partner.example' },
        { email: 'eve@partner.example' },
        { email: 'una@partner.example', email_verified: false },
        { email: 'dan@partner.example' },
        { email: 'fay@partner.example' },
      ],
    }),
  ]);
  await seed(h, {
    orgs: {
      org1: { displayName: 'Org <One> & "Co"', domains: ['org1.example.com'] },
      org2: { displayName: 'Partner Inc', domains: ['partner.example'] },
      org3: { displayName: 'Org Three' },
    },
    conns: [
      { op: okta1, displayName: 'Okta of Org One' },
      { op: partner, displayName: 'Partner IdP' },
    ],
    enable: [
      ['org1', 'okta1', { autoMembership: true }],
      ['org1', 'partner', { autoMembership: false }],
      ['org2', 'partner', { autoMembership: true }],
      ['org3', 'partner', { autoMembership: true }],
    ],
  });
  await h.start();
});

after(async () => {
  await h?.close();
  await okta1?.stop();
  await partner?.stop();
});

// orgctl invite create; returns { id, url (a path with return_to=/app/), ticket }.
async function invite(org, email, ...opts) {
  const j = JSON.parse(await h.orgctlOk('--json', 'invite', 'create', org, email, ...opts));
  assert.match(j.url, /^\/orgs\/login\?invitation=[A-Za-z0-9_-]{43}&organization=/);
  return { id: j.id, url: `${j.url}&return_to=/app/`, ticket: j.ticket };
}

async function stats(org) {
  return JSON.parse(await h.orgctlOk('--json', 'org', 'stats', org, '--days', '1'));
}

async function audit(...args) {
  return JSON.parse(await h.orgctlOk('--json', 'audit', ...args)).records;
}

test('invitation without auto-membership: page, sign-in, member with the roles, single use', async () => {
  const before = await stats('org1');
  const inv = await invite('org1', 'bob@partner.example', '--role', 'viewer', '--role', 'billing',
    '--inviter', 'Jane <Admin>');
  // the page says who invites whom to which org, escaped
  const app = h.client();
  const page = await app.get(inv.url, { headers: HTML });
  assert.equal(page.status, 200);
  assert.match(page.body, /<span id="inviter">Jane &lt;Admin&gt;<\/span>/);
  assert.match(page.body, /<span id="invitee">bob@partner\.example<\/span>/);
  assert.match(page.body, /Org &lt;One&gt; &amp; &quot;Co&quot;/);
  assert.doesNotMatch(page.body, /<Admin>|<One>/);
  // signs in through the connection the org enables without auto-membership
  const mark = h.logMark();
  const r = await signIn(app, { start: inv.url, idp: new Client(), connection: 'partner',
    email: 'bob@partner.example' });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  assert.equal(r.env.ORG_NAME, 'org1');
  assert.equal(r.env.ORG_CONNECTION, 'partner');
  assert.equal(r.env.ORG_ROLES, 'billing,viewer');
  await h.waitForLog(/ORGS00759: user usr_\w+ accepted invitation inv_\w+ to org org1 via partner/, { from: mark });
  const m = (await memberList(h, 'org1')).find((x) => x.user_id === r.env.ORG_USER_ID);
  assert.deepEqual(m.roles, ['billing', 'viewer']);
  // consumed with the membership
  const left = JSON.parse(await h.orgctlOk('--json', 'invite', 'list', 'org1'));
  assert.ok(!left.some((i) => i.id === inv.id), 'the invitation is consumed');
  // replayed: refused at /login
  const mark2 = h.logMark();
  const again = await h.client().get(inv.url, { headers: HTML });
  assert.equal(again.status, 404);
  assert.equal(errorCode(again.body), 'invitation_invalid');
  await h.waitForLog(/ORGS00750:/, { from: mark2 });
  // audited in the sign-in's transaction, and counted
  const recs = await audit('--org', 'org1', '--since', '1h');
  const created = recs.find((x) => x.action === 'invitation.create' && x.target === inv.id);
  assert.match(created.actor, /^orgctl:/);
  assert.equal(created.after.inviter, 'Jane <Admin>');
  const accepted = recs.find((x) => x.action === 'invitation.accept' && x.target === inv.id);
  assert.ok(accepted, 'invitation.accept recorded');
  assert.equal(accepted.actor, 'invitation:partner');
  assert.equal(accepted.from, '127.0.0.1');
  assert.equal(accepted.after.user_id, r.env.ORG_USER_ID);
  const after = await stats('org1');
  assert.equal(after.signins, before.signins + 1);
  assert.equal(after.joins, before.joins + 1);
  assert.ok(after.active_members >= 1);
});

test('invitation with auto-membership: the roles come with it, even on a one-connection org', async () => {
  const inv = await invite('org3', 'dan@partner.example', '--role', 'editor');
  const r = await signIn(h.client(), { start: inv.url, idp: new Client(), connection: 'partner',
    email: 'dan@partner.example' });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  assert.equal(r.env.ORG_NAME, 'org3');
  assert.equal(r.env.ORG_ROLES, 'editor');
  // the page was shown (one connection, yet not skipped)
  assert.ok(r.hops.some((x) => /id="invitation"/.test(x.body ?? '')), 'invitation page shown');
});

test('expired invitation: 410 at /login', async () => {
  const inv = await invite('org1', 'fay@partner.example', '--ttl', '1s');
  await new Promise((res) => setTimeout(res, 2200));
  const mark = h.logMark();
  const res = await h.client().get(inv.url, { headers: HTML });
  assert.equal(res.status, 410);
  assert.equal(errorCode(res.body), 'invitation_expired');
  await h.waitForLog(new RegExp(`ORGS00751: login: invitation ${inv.id} expired`), { from: mark });
});

test('revoked invitation: 404 at /login', async () => {
  const inv = await invite('org1', 'fay@partner.example');
  await h.orgctlOk('invite', 'revoke', inv.id);
  const mark = h.logMark();
  const res = await h.client().get(inv.url, { headers: HTML });
  assert.equal(res.status, 404);
  assert.equal(errorCode(res.body), 'invitation_invalid');
  await h.waitForLog(/ORGS00750:/, { from: mark });
  const recs = await audit('--org', 'org1', '--since', '1h');
  assert.ok(recs.some((x) => x.action === 'invitation.revoke' && x.target === inv.id));
});

test("another org's ticket never grants this org", async () => {
  const inv = await invite('org2', 'fay@partner.example');
  const mark = h.logMark();
  const res = await h.client().get(
    `/orgs/login?invitation=${inv.ticket}&organization=org1&connection=partner`, { headers: HTML });
  assert.equal(res.status, 403);
  assert.equal(errorCode(res.body), 'invitation_invalid');
  await h.waitForLog(new RegExp(`ORGS00752: login: invitation ${inv.id} of another organization followed to org org1`), { from: mark });
  // a ticket that is no ticket at all
  const bogus = await h.client().get('/orgs/login?invitation=AAAA&organization=org1', { headers: HTML });
  assert.equal(bogus.status, 404);
});

test('an invitation does not open a connection the org does not enable', async () => {
  const inv = await invite('org3', 'fay@partner.example');
  const mark = h.logMark();
  const res = await h.client().get(`${inv.url}&connection=okta1`, { headers: HTML });
  assert.equal(res.status, 403);
  assert.equal(errorCode(res.body), 'access_denied');
  await h.waitForLog(/ORGS00212:/, { from: mark });
});

test('wrong email, or an unverified one: refused at the callback, the invitation stays', async () => {
  const before = await stats('org1');
  const inv = await invite('org1', 'carol@partner.example', '--role', 'viewer');
  for (const email of ['eve@partner.example', 'una@partner.example']) {
    const mark = h.logMark();
    const r = await signIn(h.client(), { start: inv.url, idp: new Client(), connection: 'partner', email });
    assert.equal(r.stage, 'error', describeHops(r.hops));
    assert.equal(r.last.status, 403);
    assert.equal(errorCode(r.last.body), 'invitation_wrong_email');
    await h.waitForLog(new RegExp(`ORGS00758: callback: invitation ${inv.id} to org org1`), { from: mark });
  }
  const members = await memberList(h, 'org1');
  const users = JSON.parse(await h.orgctlOk('--json', 'user', 'list'));
  const eve = users.find((u) => u.email === 'eve@partner.example');
  assert.ok(!members.some((m) => m.user_id === eve.id), 'eve is not a member');
  const left = JSON.parse(await h.orgctlOk('--json', 'invite', 'list', 'org1'));
  assert.ok(left.some((i) => i.id === inv.id), 'a refused sign-in leaves the invitation');
  const after = await stats('org1');
  assert.equal(after.denials, before.denials + 2);
  assert.equal(after.signins, before.signins);
});

test('audit: auto-membership at login is recorded with its connection; sign-ins counted', async () => {
  const before = await stats('org1');
  const r = await signIn(h.client(), { start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    idp: new Client(), email: 'alice@org1.example.com' });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  const recs = await audit('--org', 'org1', '--since', '1h');
  const join = recs.find((x) => x.action === 'member.join' && x.target === r.env.ORG_USER_ID);
  assert.ok(join, 'member.join recorded');
  assert.equal(join.actor, 'login:okta1');
  assert.equal(join.from, '127.0.0.1');
  const after = await stats('org1');
  assert.equal(after.signins, before.signins + 1);
  assert.equal(after.joins, before.joins + 1);
  // a member's sign-in: counted, no new record
  const n = recs.length;
  const again = await signIn(h.client(), { start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    idp: r.idp, email: 'alice@org1.example.com' });
  assert.equal(again.stage, 'app', describeHops(again.hops));
  assert.equal((await audit('--org', 'org1', '--since', '1h')).length, n);
  assert.equal((await stats('org1')).signins, before.signins + 2);
});
