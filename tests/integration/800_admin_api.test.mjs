// Layer 800: the admin REST API (SetHandler orgs-admin) with bearer tokens
// (orgctl token create, Require org-api-token): every endpoint's happy path
// and error statuses, tokens' scopes, expiry and revocation, and 8
// concurrent writers losing nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';

export const API_LOCATION = `<Location /orgs/api/v1>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        Require org-api-token
        Require org-role admin
    </RequireAny>
</Location>
<Location /ro/api>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    Require org-api-token write
</Location>`;

const BASE = '/orgs/api/v1';
let h;
let token;
let readToken;

// One call: { status, headers, body (parsed JSON or null), text }.
async function api(method, path, { tok = token, json, body, headers = {}, base = BASE } = {}) {
  const hdrs = { ...headers };
  if (tok) hdrs.authorization = `Bearer ${tok}`;
  const c = h.client();
  const r = await c.request(method, `${base}${path}`, { json, body, headers: hdrs });
  let parsed = null;
  try {
    parsed = r.body ? JSON.parse(r.body) : null;
  } catch {
    parsed = null;
  }
  return { status: r.status, headers: r.headers, body: parsed, text: r.body };
}

function assertError(r, status) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.statusCode, status);
  assert.equal(typeof r.body.error, 'string');
  assert.equal(typeof r.body.message, 'string');
}

before(async () => {
  h = await Httpd.create({ name: 'admin-api', body: API_LOCATION });
  await h.orgctlOk('org', 'create', 'seeded');
  token = await h.orgctlOk('token', 'create', '--name', 'tests');
  readToken = await h.orgctlOk('token', 'create', '--scope', 'read');
  await h.start();
});

after(async () => {
  await h?.close();
});

test('organizations: create, get by id and name, list, patch, delete', async () => {
  let r = await api('POST', '/organizations', {
    json: { name: 'acme', display_name: 'Acme Inc', metadata: { tier: 'gold' }, domains: ['acme.example'] },
  });
  assert.equal(r.status, 201, r.text);
  const acme = r.body;
  assert.match(acme.id, /^org_/);
  assert.equal(acme.name, 'acme');
  assert.equal(acme.display_name, 'Acme Inc');
  assert.deepEqual(acme.metadata, { tier: 'gold' });
  assert.deepEqual(acme.domains, ['acme.example']);
  assert.equal(r.headers['content-type'], 'application/json');

  r = await api('GET', `/organizations/${acme.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'acme');
  r = await api('GET', '/organizations/name/acme');
  assert.equal(r.status, 200);
  assert.equal(r.body.id, acme.id);

  r = await api('GET', '/organizations');
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.body));
  assert.deepEqual(r.body.map((o) => o.name).sort(), ['acme', 'seeded']);

  r = await api('PATCH', `/organizations/${acme.id}`, { json: { display_name: 'ACME', metadata: { plan: 'pro' } } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.display_name, 'ACME');
  assert.deepEqual(r.body.metadata, { plan: 'pro' });
  // orgctl sees the change: one store
  const shown = JSON.parse(await h.orgctlOk('--json', 'org', 'show', 'acme'));
  assert.equal(shown.display_name, 'ACME');

  r = await api('DELETE', `/organizations/${acme.id}`);
  assert.equal(r.status, 204);
  assertError(await api('GET', `/organizations/${acme.id}`), 404);
});

test('organizations: the Ory body {label, domains} works', async () => {
  const r = await api('POST', '/organizations', { json: { label: 'My Organization', domains: ['my.example.com'] } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.name, 'my-organization');
  assert.equal(r.body.label, 'My Organization');
  assert.deepEqual(r.body.domains, ['my.example.com']);
  assert.match(r.body.id, /^org_/);
});

test('errors: 400, 404, 405 with Allow, 409, 413, 415, 401', async () => {
  const mark = h.logMark();
  assertError(await api('POST', '/organizations', { body: '{"name": ', headers: { 'content-type': 'application/json' } }), 400);
  await h.waitForLog(/ORGS00706:/, { from: mark });
  assertError(await api('POST', '/organizations', { json: { name: 'Bad Name!' } }), 400);
  assertError(await api('POST', '/organizations', { json: { name: 'x1', bogus: 1 } }), 400);
  assertError(await api('POST', '/organizations', { json: { name: 'x2', metadata: { k: 1 } } }), 400);
  assertError(await api('GET', '/organizations?per_page=1000'), 400);
  assertError(await api('GET', '/organizations/org_0000000000000000'), 404);
  assertError(await api('GET', '/nothing-here'), 404);

  let r = await api('PUT', '/organizations', { json: {} });
  assertError(r, 405);
  assert.equal(r.headers.allow, 'GET, POST');
  r = await api('POST', '/organizations/name/seeded');
  assertError(r, 405);
  assert.equal(r.headers.allow, 'GET');

  assertError(await api('POST', '/organizations', { json: { name: 'seeded' } }), 409);
  await api('POST', '/organizations', { json: { name: 'owner1', domains: ['taken.example'] } });
  assertError(await api('POST', '/organizations', { json: { name: 'owner2', domains: ['taken.example'] } }), 409);
  // a failed create changed nothing: owner2 does not exist
  assertError(await api('GET', '/organizations/name/owner2'), 404);

  const mark2 = h.logMark();
  const big = JSON.stringify({ name: 'big', metadata: { k: 'x'.repeat(300 * 1024) } });
  assertError(await api('POST', '/organizations', { body: big, headers: { 'content-type': 'application/json' } }), 413);
  await h.waitForLog(/ORGS00704:/, { from: mark2 });

  const mark3 = h.logMark();
  assertError(await api('POST', '/organizations', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
  await h.waitForLog(/ORGS00705:/, { from: mark3 });

  // no token at all: 401 (OrgsUnauthenticated 401)
  r = await api('GET', '/organizations', { tok: null });
  assert.equal(r.status, 401);
});

test('tokens: scopes, unknown, revoked, expired', async () => {
  // read-only token: GET fine, a change is 403 with the log line
  let r = await api('GET', '/organizations', { tok: readToken });
  assert.equal(r.status, 200);
  let mark = h.logMark();
  r = await api('POST', '/organizations', { tok: readToken, json: { name: 'nope' } });
  assertError(r, 403);
  await h.waitForLog(/ORGS00701:.*scope 'write'/, { from: mark });
  // Require org-api-token write on /ro/api: the read token is refused by httpd
  mark = h.logMark();
  r = await api('GET', '/organizations', { tok: readToken, base: '/ro/api' });
  assert.equal(r.status, 403);
  await h.waitForLog(/ORGS00713:/, { from: mark });
  r = await api('GET', '/organizations', { base: '/ro/api' });
  assert.equal(r.status, 200);

  // a token that is not one, and one whose secret is wrong
  mark = h.logMark();
  r = await api('GET', '/organizations', { tok: 'nonsense' });
  assert.equal(r.status, 401);
  assert.match(r.headers['www-authenticate'], /Bearer error="invalid_token"/);
  await h.waitForLog(/ORGS00709:/, { from: mark });
  const forged = `${token.slice(0, 21)}${'A'.repeat(43)}`;
  assert.equal((await api('GET', '/organizations', { tok: forged })).status, 401);

  // revoked: refused at once
  const doomed = await h.orgctlOk('token', 'create');
  assert.equal((await api('GET', '/organizations', { tok: doomed })).status, 200);
  const list = JSON.parse(await h.orgctlOk('--json', 'token', 'list'));
  const id = doomed.split('.')[0];
  assert.ok(list.some((t) => t.id === id));
  assert.ok(!JSON.stringify(list).includes(doomed.split('.')[1]), 'token list never shows a secret');
  await h.orgctlOk('token', 'revoke', id);
  assert.equal((await api('GET', '/organizations', { tok: doomed })).status, 401);

  // expired
  const brief = await h.orgctlOk('token', 'create', '--expires', '1s');
  await new Promise((res) => setTimeout(res, 1500));
  mark = h.logMark();
  assert.equal((await api('GET', '/organizations', { tok: brief })).status, 401);
  await h.waitForLog(/ORGS00710:/, { from: mark });
});

test('8 concurrent API writers lose nothing', async () => {
  const writers = Array.from({ length: 8 }, (_, w) => (async () => {
    for (let i = 0; i < 10; i++) {
      const r = await api('POST', '/organizations', { json: { name: `w${w}-o${i}`, metadata: { w: String(w) } } });
      assert.equal(r.status, 201, r.text);
    }
  })());
  await Promise.all(writers);
  const r = await api('GET', '/organizations?include_totals=true&per_page=100');
  const names = r.body.organizations.map((o) => o.name).filter((n) => /^w\d-o\d$/.test(n));
  assert.equal(names.length, 80);
  assert.equal((await h.orgctl('check')).code, 0);
});
