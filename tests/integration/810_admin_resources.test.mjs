// Layer 810: the admin API's sub-resources with a bearer token: domains,
// enabled connections, members (5,000 of them, paged both ways), roles,
// invitations, connections (secrets never returned) and users.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';

const BODY = `<Location /orgs/api/v1>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    Require org-api-token
</Location>`;
const BASE = '/orgs/api/v1';
let h;
let token;
let org1;
let org2;
let connId;

async function api(method, path, { json, headers = {} } = {}) {
  const r = await h.client().request(method, `${BASE}${path}`, {
    json,
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  return { status: r.status, headers: r.headers, body: r.body ? JSON.parse(r.body) : null, text: r.body };
}

function expectStatus(r, status) {
  assert.equal(r.status, status, r.text);
  if (status >= 400) assert.equal(r.body.statusCode, status);
}

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randId = (p) => p + Array.from(crypto.randomBytes(16), (b) => B62[b % 62]).join('');

before(async () => {
  h = await Httpd.create({ name: 'admin-res', body: BODY });
  token = await h.orgctlOk('token', 'create');
  await h.start();
  org1 = (await api('POST', '/organizations', { json: { name: 'org1' } })).body.id;
  org2 = (await api('POST', '/organizations', { json: { name: 'org2' } })).body.id;
});

after(async () => {
  await h?.close();
});

test('connections: create, get, list, patch; the secret never comes back', async () => {
  let r = await api('POST', '/connections', {
    json: { name: 'okta', strategy: 'oidc', options: { issuer: 'https://idp.example.com', client_id: 'cid', client_secret: 'TOPSECRET' } },
  });
  expectStatus(r, 201);
  connId = r.body.id;
  assert.match(connId, /^con_/);
  assert.equal(r.body.options.issuer, 'https://idp.example.com');
  for (const rr of [r, await api('GET', `/connections/${connId}`), await api('GET', '/connections')]) {
    expectStatus(rr, rr === r ? 201 : 200);
    assert.ok(!rr.text.includes('TOPSECRET'));
    assert.ok(!rr.text.includes('client_secret"'));
  }
  r = await api('PATCH', '/connections/okta', { json: { display_name: 'Okta', options: { client_secret: 'NEWSECRET' } } });
  expectStatus(r, 200);
  assert.equal(r.body.display_name, 'Okta');
  assert.ok(!r.text.includes('NEWSECRET'));
  expectStatus(await api('POST', '/connections', { json: { name: 'okta', options: { issuer: 'https://x.example', client_id: 'a', client_secret: 'b' } } }), 409);
  expectStatus(await api('POST', '/connections', { json: { name: 'bad', strategy: 'saml', options: {} } }), 400);
  expectStatus(await api('POST', '/connections', { json: { name: 'bad2', options: { issuer: 'not a url', client_id: 'a', client_secret: 'b' } } }), 400);
  expectStatus(await api('PATCH', '/connections/okta', { json: { name: 'renamed' } }), 400);
  expectStatus(await api('GET', '/connections/con_0000000000000000'), 404);
  const tmp = (await api('POST', '/connections', { json: { name: 'tmp', options: { issuer: 'https://t.example', client_id: 'a', client_secret: 'b' } } })).body;
  expectStatus(await api('DELETE', `/connections/${tmp.id}`), 204);
  expectStatus(await api('DELETE', `/connections/${tmp.id}`), 404);
});

test('domains: add, list, 409 when another org owns it, delete', async () => {
  expectStatus(await api('POST', `/organizations/${org1}/domains`, { json: { domain: 'One.Example' } }), 201);
  let r = await api('GET', `/organizations/${org1}/domains`);
  expectStatus(r, 200);
  assert.deepEqual(r.body, [{ domain: 'one.example' }]);
  expectStatus(await api('POST', `/organizations/${org2}/domains`, { json: { domain: 'one.example' } }), 409);
  expectStatus(await api('POST', `/organizations/${org2}/domains`, { json: { domain: 'not a domain' } }), 400);
  expectStatus(await api('POST', `/organizations/${org2}/domains`, { json: {} }), 400);
  expectStatus(await api('DELETE', `/organizations/${org1}/domains/one.example`), 204);
  expectStatus(await api('DELETE', `/organizations/${org1}/domains/one.example`), 404);
  r = await api('GET', `/organizations/${org1}/domains`);
  assert.deepEqual(r.body, []);
});

test('enabled connections: enable, get, patch, list, disable', async () => {
  let r = await api('POST', `/organizations/${org1}/enabled_connections`, { json: { connection_id: 'okta', assign_membership_on_login: true } });
  expectStatus(r, 201);
  assert.equal(r.body.connection_id, connId);
  assert.equal(r.body.assign_membership_on_login, true);
  expectStatus(await api('POST', `/organizations/${org1}/enabled_connections`, { json: { connection_id: connId } }), 409);
  expectStatus(await api('POST', `/organizations/${org1}/enabled_connections`, { json: { connection_id: 'nope' } }), 404);
  expectStatus(await api('POST', `/organizations/${org1}/enabled_connections`, { json: { connection_id: connId, assign_membership_on_login: 'yes' } }), 400);
  r = await api('PATCH', `/organizations/${org1}/enabled_connections/${connId}`, { json: { assign_membership_on_login: false } });
  expectStatus(r, 200);
  assert.equal(r.body.assign_membership_on_login, false);
  expectStatus(await api('PATCH', `/organizations/${org2}/enabled_connections/${connId}`, { json: { assign_membership_on_login: false } }), 404);
  r = await api('GET', `/organizations/${org1}/enabled_connections`);
  assert.equal(r.body.length, 1);
  expectStatus(await api('GET', `/organizations/${org1}/enabled_connections/okta`), 200);
  expectStatus(await api('GET', `/organizations/${org2}/enabled_connections/okta`), 404);
  // orgctl sees the same
  assert.match(await h.orgctlOk('org', 'show', 'org1'), /okta/);
  expectStatus(await api('POST', `/organizations/${org2}/enabled_connections`, { json: { connection_id: connId } }), 201);
  expectStatus(await api('DELETE', `/organizations/${org2}/enabled_connections/${connId}`), 204);
  expectStatus(await api('DELETE', `/organizations/${org2}/enabled_connections/${connId}`), 404);
});

let users = [];
test('members, roles and users', async () => {
  for (const e of ['a@one.example', 'b@one.example', 'c@one.example']) {
    users.push(await h.orgctlOk('member', 'add', 'org2', '--connection', 'okta', '--email', e));
  }
  users = users.map((u) => u.split(/\s+/).find((w) => w.startsWith('usr_')) ?? u);
  const [a, b, c] = users;
  expectStatus(await api('POST', `/organizations/${org1}/members`, { json: { members: [a, b], roles: ['viewer'] } }), 204);
  // an unknown user: nobody added
  expectStatus(await api('POST', `/organizations/${org1}/members`, { json: { members: [c, 'usr_0000000000000000'] } }), 404);
  let r = await api('GET', `/organizations/${org1}/members`);
  expectStatus(r, 200);
  assert.deepEqual(r.body.map((m) => m.user_id).sort(), [a, b].sort());
  assert.ok(r.body.every((m) => m.roles.includes('viewer') && /@one\.example$/.test(m.email)));
  expectStatus(await api('POST', `/organizations/${org1}/members`, { json: { members: ['nope'] } }), 400);
  expectStatus(await api('POST', `/organizations/${org1}/members`, { json: { members: [] } }), 400);

  expectStatus(await api('POST', `/organizations/${org1}/members/${a}/roles`, { json: { roles: ['admin'] } }), 204);
  r = await api('GET', `/organizations/${org1}/members/${a}/roles`);
  assert.deepEqual(r.body.map((x) => x.name).sort(), ['admin', 'viewer']);
  expectStatus(await api('DELETE', `/organizations/${org1}/members/${a}/roles`, { json: { roles: ['viewer'] } }), 204);
  r = await api('GET', `/organizations/${org1}/members/${a}/roles`);
  assert.deepEqual(r.body.map((x) => x.name), ['admin']);
  expectStatus(await api('POST', `/organizations/${org1}/members/${a}/roles`, { json: { roles: ['bad role!'] } }), 400);
  // c is not a member of org1: its roles there are not found
  expectStatus(await api('GET', `/organizations/${org1}/members/${c}/roles`), 404);
  expectStatus(await api('POST', `/organizations/${org1}/members/${c}/roles`, { json: { roles: ['admin'] } }), 404);

  expectStatus(await api('DELETE', `/organizations/${org1}/members`, { json: { members: [b] } }), 204);
  r = await api('GET', `/organizations/${org1}/members`);
  assert.deepEqual(r.body.map((m) => m.user_id), [a]);

  r = await api('GET', '/users?email=a@one.example');
  expectStatus(r, 200);
  assert.equal(r.body.length, 1);
  assert.equal(r.body[0].user_id, a);
  expectStatus(await api('GET', '/users?email=bad'), 400);
  r = await api('GET', `/users/${a}`);
  expectStatus(r, 200);
  assert.equal(r.body.email, 'a@one.example');
  r = await api('GET', `/users/${a}/organizations`);
  assert.deepEqual(r.body.map((o) => o.name).sort(), ['org1', 'org2']);
  assert.deepEqual(r.body.find((o) => o.name === 'org1').roles, ['admin']);
  expectStatus(await api('GET', '/users/usr_0000000000000000'), 404);
  r = await api('GET', '/users?include_totals=true');
  assert.equal(r.body.total, 3);
});

test('invitations: create, list, get, delete; another org\'s id is not found', async () => {
  let r = await api('POST', `/organizations/${org1}/invitations`, { json: { invitee: { email: 'New@Partner.Example' }, roles: ['viewer'], ttl_sec: 3600 } });
  expectStatus(r, 201);
  const inv = r.body;
  assert.match(inv.id, /^inv_/);
  assert.equal(inv.invitee.email, 'New@partner.example');
  assert.equal(inv.organization_id, org1);
  assert.equal(Date.parse(inv.expires_at) - Date.parse(inv.created_at), 3600 * 1000);
  expectStatus(await api('POST', `/organizations/${org1}/invitations`, { json: { invitee: { email: 'x@y.example' }, ttl_sec: 40 * 86400 } }), 400);
  expectStatus(await api('POST', `/organizations/${org1}/invitations`, { json: { invitee: {} } }), 400);
  expectStatus(await api('POST', `/organizations/${org1}/invitations`, { json: { invitee: { email: 'bad' } } }), 400);
  r = await api('GET', `/organizations/${org1}/invitations`);
  assert.deepEqual(r.body.map((i) => i.id), [inv.id]);
  expectStatus(await api('GET', `/organizations/${org1}/invitations/${inv.id}`), 200);
  expectStatus(await api('GET', `/organizations/${org2}/invitations/${inv.id}`), 404);
  expectStatus(await api('DELETE', `/organizations/${org2}/invitations/${inv.id}`), 404);
  expectStatus(await api('DELETE', `/organizations/${org1}/invitations/${inv.id}`), 204);
  expectStatus(await api('GET', `/organizations/${org1}/invitations/${inv.id}`), 404);
  // default expiry: 7 days
  r = await api('POST', `/organizations/${org1}/invitations`, { json: { invitee: { email: 'd@partner.example' } } });
  assert.equal(Date.parse(r.body.expires_at) - Date.parse(r.body.created_at), 7 * 86400 * 1000);
});

test('pagination over 5,000 members: page/per_page/include_totals and from/take', async () => {
  const org = (await api('POST', '/organizations', { json: { name: 'big' } })).body.id;
  const lines = [];
  const ids = [];
  const now = new Date().toISOString();
  for (let i = 0; i < 5000; i++) {
    const id = randId('usr_');
    ids.push(id);
    lines.push(JSON.stringify({ type: 'user', id, connection_id: connId, sub: `s${i}`, email: `m${i}@big.example`, name: null, created_at: now, last_login: null }));
    lines.push(JSON.stringify({ type: 'member', org_id: org, user_id: id, roles: [], created_at: now }));
  }
  const file = join(h.root, 'big.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  // on a PostgreSQL store the 10,000 rows are written one statement each:
  // longer than orgctl()'s default 30 s on a loaded machine
  await h.orgctlOk('import', file, { timeoutMs: 180000 });

  let r = await api('GET', `/organizations/${org}/members?include_totals=true&per_page=100&page=49`);
  expectStatus(r, 200);
  assert.equal(r.body.total, 5000);
  assert.equal(r.body.start, 4900);
  assert.equal(r.body.limit, 100);
  assert.equal(r.body.members.length, 100);
  r = await api('GET', `/organizations/${org}/members?per_page=100&page=50`);
  assert.deepEqual(r.body, []);

  const seen = new Set();
  let from = null;
  let pages = 0;
  do {
    r = await api('GET', `/organizations/${org}/members?take=100${from ? `&from=${from}` : ''}`);
    expectStatus(r, 200);
    for (const m of r.body.members) seen.add(m.user_id);
    from = r.body.next;
    pages++;
  } while (from);
  assert.equal(pages, 50);
  assert.equal(seen.size, 5000);
  assert.ok(ids.every((id) => seen.has(id)));
  expectStatus(await api('GET', `/organizations/${org}/members?take=100&from=garbage`), 400);
  expectStatus(await api('GET', `/organizations/${org}/members?take=100&page=2`), 400);
  expectStatus(await api('GET', `/organizations/${org}/invitations?take=10`), 400);
});
