// Layer 811: a customer's own admin (signed in with the role admin) on the
// admin API: its own org's members, roles and invitations work; every
// route reaching another org, or not open to org admins, is refused (IDOR),
// with the log line, and changes nothing; browser writes need
// X-Requested-With (CSRF); a member without the role is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { ENV_CGI } from './lib/flow.mjs';
import { adminRoutes } from './lib/admin.mjs';
import { ADMIN_BASE as BASE, ORG_ADMIN_BODY as body, XRW, adminApi as api, memberAdd, signInAs, startTwoOrgs } from './lib/orgadmin.mjs';

let h;
let okta1;
let okta2;
let token;
const ids = {};
const who = {};

const bearer = () => ({ authorization: `Bearer ${token}` });

before(async () => {
  h = await Httpd.create({ name: 'admin-orgadmin', body });
  h.cgi('app/index.cgi', ENV_CGI);
  let orgIds;
  ({ okta1, okta2, orgIds } = await startTwoOrgs(h, {
    users1: [
      { email: 'alice@org1.example', sub: 'alice' },
      { email: 'bob@org1.example', sub: 'bob' },
      { email: 'dave@org1.example', sub: 'dave' },
    ],
    users2: [{ email: 'carol@org2.example', sub: 'carol' }],
    orgs: { org1: {}, org2: { domains: ['org2-corp.example'] } },
  }));
  Object.assign(ids, orgIds);
  const add = (org, conn, email, roles) => memberAdd(h, org, conn, email, roles);
  ids.alice = await add('org1', 'okta1', 'alice@org1.example', ['admin']);
  ids.bob = await add('org1', 'okta1', 'bob@org1.example', ['viewer']);
  ids.dave = await add('org1', 'okta1', 'dave@org1.example', []);
  await h.orgctlOk('member', 'remove', 'org1', ids.dave); // dave: a user of okta1, not a member
  ids.carol = await add('org2', 'okta2', 'carol@org2.example', ['admin']);
  ids.conn2 = JSON.parse(await h.orgctlOk('--json', 'conn', 'show', 'okta2')).id;
  // the first line is the id, the second the invitation URL
  ids.inv2 = (await h.orgctlOk('invite', 'create', 'org2', 'x@org2.example')).split('\n')[0];
  token = await h.orgctlOk('token', 'create');
  await h.start();
  for (const [name, op, org, email] of [['alice', 'okta1', 'org1', 'alice@org1.example'], ['bob', 'okta1', 'org1', 'bob@org1.example'], ['carol', 'okta2', 'org2', 'carol@org2.example']]) {
    who[name] = await signInAs(h, op, org, email);
  }
});

after(async () => {
  await h?.close();
  await okta1?.stop?.();
  await okta2?.stop?.();
});

test('an org admin manages its own org: members, roles, invitations', async () => {
  const a = who.alice;
  let r = await api(a, 'GET', `/organizations/${ids.org1}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, 'org1');
  r = await api(a, 'GET', '/organizations/name/org1');
  assert.equal(r.status, 200);
  r = await api(a, 'GET', `/organizations/${ids.org1}/members`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.map((m) => m.user_id).sort(), [ids.alice, ids.bob].sort());
  // dave signs in through okta1, enabled on org1: the admin may add him
  r = await api(a, 'POST', `/organizations/${ids.org1}/members`, { json: { members: [ids.dave] }, headers: XRW });
  assert.equal(r.status, 204, r.text);
  r = await api(a, 'POST', `/organizations/${ids.org1}/members/${ids.dave}/roles`, { json: { roles: ['editor'] }, headers: XRW });
  assert.equal(r.status, 204, r.text);
  r = await api(a, 'GET', `/organizations/${ids.org1}/members/${ids.dave}/roles`);
  assert.deepEqual(r.body.map((x) => x.name), ['editor']);
  r = await api(a, 'DELETE', `/organizations/${ids.org1}/members/${ids.dave}/roles`, { json: { roles: ['editor'] }, headers: XRW });
  assert.equal(r.status, 204);
  r = await api(a, 'DELETE', `/organizations/${ids.org1}/members`, { json: { members: [ids.dave] }, headers: XRW });
  assert.equal(r.status, 204);
  r = await api(a, 'POST', `/organizations/${ids.org1}/invitations`, { json: { invitee: { email: 'new@org1.example' } }, headers: XRW });
  assert.equal(r.status, 201, r.text);
  const inv = r.body.id;
  assert.equal((await api(a, 'GET', `/organizations/${ids.org1}/invitations/${inv}`)).status, 200);
  assert.equal((await api(a, 'GET', `/organizations/${ids.org1}/invitations`)).body.length, 1);
  assert.equal((await api(a, 'DELETE', `/organizations/${ids.org1}/invitations/${inv}`, { headers: XRW })).status, 204);
  // a user of another customer (carol, okta2 not enabled on org1) is "not found"
  r = await api(a, 'POST', `/organizations/${ids.org1}/members`, { json: { members: [ids.carol] }, headers: XRW });
  assert.equal(r.status, 404);
});

test('cross-org access (IDOR) is refused on every route, and changes nothing', async () => {
  const a = who.alice;
  const routes = adminRoutes();
  assert.ok(routes.length >= 30, 'the route table was read');
  const fill = (p) => p
    .replace('{id}', ids.org2)
    .replace('{name}', 'org2')
    .replace('{domain}', 'org2-corp.example')
    .replace('{connection_id}', ids.conn2)
    .replace('{user_id}', ids.carol)
    .replace('{invitation_id}', ids.inv2);
  const bodies = {
    '/organizations': { name: 'sneaky' },
    '/organizations/{id}': { display_name: 'pwned' },
    '/organizations/{id}/domains': { domain: 'evil.example' },
    '/organizations/{id}/enabled_connections': { connection_id: 'okta1' },
    '/organizations/{id}/enabled_connections/{connection_id}': { assign_membership_on_login: true },
    '/organizations/{id}/members': { members: [ids.alice] },
    '/organizations/{id}/members/{user_id}/roles': { roles: ['admin'] },
    '/organizations/{id}/invitations': { invitee: { email: 'spy@org1.example' } },
    '/connections': { name: 'evil', options: { issuer: 'https://evil.example', client_id: 'a', client_secret: 'b' } },
    '/connections/{id}': { display_name: 'pwned' },
  };
  const mark = h.logMark();
  let refused = 0;
  for (const rt of routes) {
    // non-org routes take org2's id where {id} is an org, the connection's or user's otherwise
    let path = fill(rt.pattern);
    if (rt.pattern.startsWith('/connections/')) path = `/connections/${ids.conn2}`;
    if (rt.pattern.startsWith('/users/')) path = rt.pattern.replace('{id}', ids.carol);
    const json = rt.method === 'GET' ? undefined : bodies[rt.pattern] ?? {};
    const r = await api(a, rt.method, path, { json, headers: XRW });
    assert.equal(r.status, 403, `${rt.method} ${path}: ${r.text}`);
    assert.equal(r.body.statusCode, 403);
    refused++;
  }
  // the org's own id under another org's sub-resource ids: not found, never another org's
  assert.equal((await api(a, 'GET', `/organizations/${ids.org1}/invitations/${ids.inv2}`)).status, 404);
  assert.equal((await api(a, 'DELETE', `/organizations/${ids.org1}/invitations/${ids.inv2}`, { headers: XRW })).status, 404);
  assert.equal((await api(a, 'GET', `/organizations/${ids.org1}/members/${ids.carol}/roles`)).status, 404);
  assert.equal((await api(a, 'POST', `/organizations/${ids.org1}/members/${ids.carol}/roles`, { json: { roles: ['x'] }, headers: XRW })).status, 404);
  // an org that does not exist: the same 403 (no oracle)
  assert.equal((await api(a, 'GET', '/organizations/org_0000000000000000')).status, 403);
  const log = await h.waitForLog(/ORGS00701:/, { from: mark });
  assert.ok(log);
  const lines = h.errorLog(mark).split('\n').filter((l) => /ORGS00701:/.test(l));
  assert.ok(lines.length >= refused, `${lines.length} refusals logged for ${refused}`);
  assert.ok(lines.every((l) => l.includes(ids.alice)));

  // org2 as it was: read with the token
  const t = h.client();
  const o2 = await api(t, 'GET', `/organizations/${ids.org2}`, { headers: bearer() });
  assert.equal(o2.body.display_name, 'org2');
  assert.deepEqual(o2.body.domains, ['org2-corp.example']);
  const m2 = await api(t, 'GET', `/organizations/${ids.org2}/members`, { headers: bearer() });
  assert.deepEqual(m2.body.map((m) => m.user_id), [ids.carol]);
  assert.deepEqual(m2.body[0].roles, ['admin']);
  const i2 = await api(t, 'GET', `/organizations/${ids.org2}/invitations`, { headers: bearer() });
  assert.deepEqual(i2.body.map((i) => i.id), [ids.inv2]);
  const c = await api(t, 'GET', '/connections', { headers: bearer() });
  assert.deepEqual(c.body.map((x) => x.name).sort(), ['okta1', 'okta2']);
  const orgs = await api(t, 'GET', '/organizations', { headers: bearer() });
  assert.deepEqual(orgs.body.map((x) => x.name).sort(), ['org1', 'org2']);

  // and the other way round: carol cannot reach org1
  assert.equal((await api(who.carol, 'GET', `/organizations/${ids.org1}/members`)).status, 403);
  assert.equal((await api(who.carol, 'GET', `/organizations/${ids.org2}/members`)).status, 200);
});

test('CSRF: a browser session change needs X-Requested-With and a same-site origin', async () => {
  const a = who.alice;
  let mark = h.logMark();
  let r = await api(a, 'POST', `/organizations/${ids.org1}/invitations`, { json: { invitee: { email: 'csrf@org1.example' } } });
  assert.equal(r.status, 403);
  await h.waitForLog(/ORGS00707:/, { from: mark });
  mark = h.logMark();
  r = await api(a, 'DELETE', `/organizations/${ids.org1}/members`, { json: { members: [ids.bob] }, headers: { ...XRW, 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 403);
  await h.waitForLog(/ORGS00707:/, { from: mark });
  // a form post (what a cross-site page can send) fails before anything is read
  r = await a.request('POST', `${BASE}/organizations/${ids.org1}/members`, { form: { members: ids.bob } });
  assert.equal(r.status, 403);
  // nothing changed
  const m = await api(h.client(), 'GET', `/organizations/${ids.org1}/members`, { headers: bearer() });
  assert.ok(m.body.some((x) => x.user_id === ids.bob));
  assert.equal((await api(h.client(), 'GET', `/organizations/${ids.org1}/invitations`, { headers: bearer() })).body.length, 0);
  // a bearer call needs no such header
  r = await api(h.client(), 'POST', `/organizations/${ids.org1}/invitations`, { json: { invitee: { email: 'ok@org1.example' } }, headers: bearer() });
  assert.equal(r.status, 201);
});

test('a member without the role admin, and no session at all, are refused', async () => {
  const mark = h.logMark();
  let r = await api(who.bob, 'GET', `/organizations/${ids.org1}/members`);
  assert.equal(r.status, 403);
  await h.waitForLog(/ORGS00401:/, { from: mark });
  r = await api(h.client(), 'GET', `/organizations/${ids.org1}`);
  assert.equal(r.status, 401);
});
