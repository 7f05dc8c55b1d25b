// Layer 822: an org's own admin cannot fill the shared store with
// invitations. OrgsMaxInvitationsPerOrg bounds the open invitations of one
// org: a loop of POSTs is refused at the bound (409, ORGS00763) once the
// org's expired invitations were removed, the store holds no more than the
// bound, and another org's admin still invites and its users still sign
// in. The sweep removes expired invitations; orgctl is bounded alike; a
// bad value stops httpd naming the directive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { ENV_CGI } from './lib/flow.mjs';
import { ADMIN_BASE as BASE, ORG_ADMIN_BODY as body, XRW, adminApi as api, memberAdd, signInAs as signInAsOn, startTwoOrgs } from './lib/orgadmin.mjs';

const BOUND = 25;

let h;
let okta1;
let okta2;
let token;
const ids = {};
const who = {};
const expired1 = [];
const expired2 = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const openInvites = async (org) => JSON.parse(await h.orgctlOk('--json', 'invite', 'list', org));
const signInAs = (op, org, email) => signInAsOn(h, op, org, email, { logs: /ORGS00[2-7]/ });

before(async () => {
  h = await Httpd.create({
    name: 'invite-bound',
    body,
    serverOrgs: `${DEFAULT_SERVER_ORGS}\nOrgsMaxInvitationsPerOrg ${BOUND}`,
  });
  h.cgi('app/index.cgi', ENV_CGI);
  let orgIds;
  ({ okta1, okta2, orgIds } = await startTwoOrgs(h, {
    users1: [{ email: 'alice@org1.example', sub: 'alice' }],
    users2: [
      { email: 'carol@org2.example', sub: 'carol' },
      { email: 'erin@org2.example', sub: 'erin' },
    ],
  }));
  Object.assign(ids, orgIds);
  const add = (org, conn, email, roles) => memberAdd(h, org, conn, email, roles);
  ids.alice = await add('org1', 'okta1', 'alice@org1.example', ['admin']);
  ids.carol = await add('org2', 'okta2', 'carol@org2.example', ['admin']);
  ids.erin = await add('org2', 'okta2', 'erin@org2.example', []);
  // invitations that expire within a second: removed by the sweep at the
  // first sign-in
  for (let i = 0; i < 3; i++) {
    expired2.push((await h.orgctlOk('invite', 'create', 'org2', `old${i}@org2.example`, '--ttl', '1')).split('\n')[0]);
  }
  ids.live2 = (await h.orgctlOk('invite', 'create', 'org2', 'live@org2.example')).split('\n')[0];
  token = await h.orgctlOk('token', 'create');
  await sleep(1500);
  await h.start();
  who.alice = await signInAs('okta1', 'org1', 'alice@org1.example');
  who.carol = await signInAs('okta2', 'org2', 'carol@org2.example');
});

after(async () => {
  await h?.close();
  await okta1?.stop?.();
  await okta2?.stop?.();
});

test('the sweep removed the expired invitations (ORGS00765), not the open one', async () => {
  await h.waitForLog(/ORGS00765: removed [1-9]\d* expired invitations/);
  const left = (await openInvites('org2')).map((i) => i.id);
  assert.deepEqual(left, [ids.live2]);
  for (const id of expired2) assert.ok(!left.includes(id));
});

test('an org admin looping POSTs is refused at the bound; the store holds no more', async () => {
  // expired ones the sweep (hourly) has not seen: the insert at the bound
  // removes them
  for (let i = 0; i < 5; i++) {
    expired1.push((await h.orgctlOk('invite', 'create', 'org1', `old${i}@org1.example`, '--ttl', '1')).split('\n')[0]);
  }
  await sleep(1500);
  const mark = h.logMark();
  const statuses = [];
  let refusal;
  for (let i = 0; i < BOUND + 15; i++) {
    const r = await api(who.alice, 'POST', `/organizations/${ids.org1}/invitations`, {
      json: { invitee: { email: `flood${i}@org1.example` } },
      headers: XRW,
    });
    statuses.push(r.status);
    if (r.status === 409 && !refusal) refusal = r;
  }
  // 5 expired + 20 open reach the bound; the next create removes the 5
  // expired ones first, so BOUND creates succeed in all, then each is refused
  assert.deepEqual(statuses, [...Array(BOUND).fill(201), ...Array(15).fill(409)], statuses.join(' '));
  assert.equal(refusal.body.statusCode, 409);
  assert.equal(refusal.body.error, 'Conflict');
  assert.match(refusal.body.message, /OrgsMaxInvitationsPerOrg/);
  const log = h.errorLog(mark);
  assert.match(log, new RegExp(`ORGS00763: admin API: POST ${BASE}/organizations/${ids.org1}/invitations by ${ids.alice} refused at a bound`));
  const open = await openInvites('org1');
  assert.equal(open.length, BOUND);
  for (const id of expired1) assert.ok(!open.some((i) => i.id === id), `expired ${id} still there`);
  // the API's own list agrees, and a bearer caller is held to the same bound
  const r = await api(h.client(), 'POST', `/organizations/${ids.org1}/invitations`, {
    json: { invitee: { email: 'bearer@org1.example' } },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 409, r.text);
  assert.equal((await openInvites('org1')).length, BOUND);
});

test('another org is not held by it: its admin invites, its users sign in', async () => {
  const r = await api(who.carol, 'POST', `/organizations/${ids.org2}/invitations`, {
    json: { invitee: { email: 'new@org2.example' }, roles: ['viewer'] },
    headers: XRW,
  });
  assert.equal(r.status, 201, r.text);
  assert.ok(r.body.invitation_url.includes('organization=org2'));
  await signInAs('okta2', 'org2', 'erin@org2.example');
  // and org1's own admin still signs in and reads its invitations
  await signInAs('okta1', 'org1', 'alice@org1.example');
  const list = await api(who.alice, 'GET', `/organizations/${ids.org1}/invitations`);
  assert.equal(list.status, 200);
  assert.equal(list.body.length, BOUND);
});

test('one invitation is read by id, and only under its own org', async () => {
  const inv = (await openInvites('org1'))[0].id;
  const bearer = { authorization: `Bearer ${token}` };
  let r = await api(h.client(), 'GET', `/organizations/${ids.org1}/invitations/${inv}`, { headers: bearer });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, inv);
  // an id of org1 under org2's path is not found, as an unknown one
  r = await api(h.client(), 'GET', `/organizations/${ids.org2}/invitations/${inv}`, { headers: bearer });
  assert.equal(r.status, 404, r.text);
  r = await api(h.client(), 'GET', `/organizations/${ids.org1}/invitations/inv_${'0'.repeat(22)}`, { headers: bearer });
  assert.equal(r.status, 404, r.text);
  // an org admin reaching another org's invitation: refused (ORGS00701)
  const mark = h.logMark();
  r = await api(who.carol, 'GET', `/organizations/${ids.org1}/invitations/${inv}`);
  assert.equal(r.status, 403);
  assert.match(h.errorLog(mark), /ORGS00701/);
});

test('orgctl is bounded alike (--max-open, default 1000): one line, exit 1', async () => {
  let r = await h.orgctl('invite', 'create', 'org1', 'cli@org1.example', '--max-open', String(BOUND));
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /OrgsMaxInvitationsPerOrg/);
  assert.equal(r.stdout, '');
  assert.equal((await openInvites('org1')).length, BOUND);
  r = await h.orgctl('invite', 'create', 'org1', 'cli@org1.example', '--max-open', 'lots');
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--max-open/);
  // orgctl does not read httpd's configuration: its own default is 1000
  await h.orgctlOk('invite', 'create', 'org1', 'cli@org1.example');
  assert.equal((await openInvites('org1')).length, BOUND + 1);
});

for (const line of ['OrgsMaxInvitationsPerOrg -1', 'OrgsMaxInvitationsPerOrg lots']) {
  test(`apache2 -t rejects: ${line}`, async () => {
    const r = await h.configtest('', `${DEFAULT_SERVER_ORGS}\n${line}`);
    assert.notEqual(r.code, 0, `accepted:\n${h.confText}`);
    assert.ok(r.stderr.includes('OrgsMaxInvitationsPerOrg'), r.stderr);
  });
}

test('apache2 -t accepts: OrgsMaxInvitationsPerOrg 0', async () => {
  const r = await h.configtest('', `${DEFAULT_SERVER_ORGS}\nOrgsMaxInvitationsPerOrg 0`);
  assert.equal(r.code, 0, r.stderr);
});
