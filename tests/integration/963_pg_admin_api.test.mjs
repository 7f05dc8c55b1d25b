// Layer 963: the admin API (SetHandler orgs-admin) on nodes of a PostgreSQL
// store writes through the database. Two httpd nodes on one throw-away
// database (lib/pgnodes.mjs), each with its own replica and API token. Covers:
// an org created, a domain added, a connection enabled and a member added
// through node A's API are seen by node B's API and by a sign-in on B
// within a second (the lags printed); the same org name (or the same
// domain) created on A and B at once: one 201, one 409, the database
// holding the winner only; a create B's replica cannot know of yet (its
// replicator paused) refused by the database (409, ORGS00864); PostgreSQL
// down: a write answers 503 JSON (ORGS00863), nothing written, reads keep
// working from the replica, a login start answers 503 at once (ORGS00867);
// back: writes work again without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { ENV_CGI, describeHops } from './lib/flow.mjs';
import { sleep } from './lib/proc.mjs';
import { APP_BODY, PgStore, replicatorPid, report, signInOn, until } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const BASE = '/orgs/api/v1';
const body = `${APP_BODY}
<Location ${BASE}>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        Require org-api-token
        Require org-role admin
    </RequireAny>
</Location>`;

let store;
let pg;
let skip;
let op;
let nodes = [];
const tokens = new Map();

const pgctlOk = (...args) => store.ctlOk(...args);

// One API call on node h: { status, headers, body (parsed JSON or null), text }.
async function api(h, method, path, json) {
  const r = await h.client().request(method, `${BASE}${path}`, {
    json,
    headers: { authorization: `Bearer ${tokens.get(h)}` },
  });
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
  assert.equal(r.body?.statusCode, status, r.text);
  assert.equal(typeof r.body.message, 'string');
}

// The time from now until node h's API answers what ok accepts.
async function seenOn(h, path, ok) {
  return until(async () => {
    const r = await api(h, 'GET', path);
    return r.status === 200 && ok(r.body);
  });
}

const orgNames = async () => JSON.parse(await pgctlOk('--json', 'org', 'list')).map((o) => o.name);

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  nodes = await store.addNodes(['a', 'b'], { name: 'pgadmin', body });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  assert.match(await pgctlOk('init'), /schema version \d+ created/);
  await pgctlOk('org', 'create', 'org1', '--domain', 'org1.example.com');
  op = await store.okta1(['alice', 'bob']);
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await store.startNodes();
  for (const h of nodes) {
    // API tokens are kept per node, in its replica (not in the database)
    tokens.set(h, await h.orgctlOk('token', 'create', '--name', 'tests'));
  }
});

after(async () => {
  await store?.close();
});

test('org, domain, enablement and member made through A\'s API are seen by B\'s API and a sign-in on B within a second', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const lags = {};
  const mark = a.logMark();
  let r = await api(a, 'POST', '/organizations', { name: 'acme', domains: ['acme.example.com'] });
  assert.equal(r.status, 201, r.text);
  const acme = r.body;
  // A reads its own write at once
  assert.equal((await api(a, 'GET', '/organizations/acme')).body?.id, acme.id);
  lags.org = await seenOn(b, '/organizations/acme', (o) => o.id === acme.id);
  await a.waitForLog(/ORGS00865: admin API: POST \/orgs\/api\/v1\/organizations written to PostgreSQL as change \d+ in \d+ us/,
    { from: mark });

  r = await api(a, 'POST', '/organizations/acme/domains', { domain: 'acme.example.org' });
  assert.equal(r.status, 201, r.text);
  lags.domain = await seenOn(b, '/organizations/acme', (o) => o.domains.includes('acme.example.org'));

  r = await api(a, 'POST', '/organizations/acme/enabled_connections',
    { connection_id: 'okta1', assign_membership_on_login: false });
  assert.equal(r.status, 201, r.text);
  lags.enable = await seenOn(b, '/organizations/acme/enabled_connections/okta1', (e) => e.connection_id !== undefined);

  // alice exists once she signed in (to org1, by auto-membership)
  assert.equal((await signInOn(a, 'alice@org1.example.com', 'org1')).r.stage, 'app');
  const alice = JSON.parse(await pgctlOk('--json', 'member', 'list', 'org1'))
    .find((m) => m.email === 'alice@org1.example.com');
  assert.ok(alice?.user_id, 'alice in the database');
  // without the membership, a sign-in to acme on B is refused
  const refused = await signInOn(b, 'alice@org1.example.com', 'acme');
  assert.notEqual(refused.r.stage, 'app', describeHops(refused.r.hops));
  r = await api(a, 'POST', '/organizations/acme/members', { members: [alice.user_id], roles: ['viewer'] });
  assert.equal(r.status, 204, r.text);
  lags.member = await seenOn(b, '/organizations/acme/members', (l) => l.some((m) => m.user_id === alice.user_id));
  const t0 = performance.now();
  const { app, r: hops } = await signInOn(b, 'alice@org1.example.com', 'acme');
  assert.equal(hops.stage, 'app', describeHops(hops.hops));
  const signin = performance.now() - t0;
  const res = await app.get('/app/', { headers: HTML });
  assert.match(res.body, /ORG_ROLES=viewer/);

  // home-realm discovery on B by the domain added on A: to the IdP
  const hrd = await b.client().get('/orgs/login?login_hint=someone@acme.example.org&return_to=/app/',
    { headers: HTML });
  assert.ok([302, 303].includes(hrd.status), `${hrd.status} ${hrd.body}`);
  assert.ok(hrd.location.startsWith(op.issuer), hrd.location);

  report(t, `admin API write on A -> seen by B's API after: org ${lags.org.toFixed(0)} ms, domain ` +
    `${lags.domain.toFixed(0)} ms, enabled connection ${lags.enable.toFixed(0)} ms, member ` +
    `${lags.member.toFixed(0)} ms; then a whole sign-in on B to the new org took ${signin.toFixed(0)} ms`);
  for (const [what, lag] of Object.entries(lags)) assert.ok(lag < 1000, `${what}: ${lag} ms`);
  // the database holds it all (orgctl against PostgreSQL)
  const org = JSON.parse(await pgctlOk('--json', 'org', 'show', 'acme'));
  assert.deepEqual([...org.domains].sort(), ['acme.example.com', 'acme.example.org']);
  const members = JSON.parse(await pgctlOk('--json', 'member', 'list', 'acme'));
  assert.deepEqual(members.map((m) => [m.user_id, m.roles]), [[alice.user_id, ['viewer']]]);
  // each node's audit log records the writes it served
  const audit = await api(a, 'GET', '/audit?org=acme');
  assert.equal(audit.status, 200, audit.text);
  const actions = (Array.isArray(audit.body) ? audit.body : audit.body.records ?? audit.body.logs ?? [])
    .map((x) => x.action);
  assert.ok(actions.includes('org.create'), JSON.stringify(audit.body));
});

test('the same org name or domain created on A and B at once: one 201, one 409, nothing half-written', async (t) => {
  if (skip) return t.skip(skip);
  for (let round = 0; round < 3; round++) {
    const name = `race${round}`;
    const rs = await Promise.all(nodes.map((h) => api(h, 'POST', '/organizations', { name })));
    assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409], rs.map((r) => r.text).join('\n'));
    assertError(rs.find((r) => r.status === 409), 409);
    const winner = rs.find((r) => r.status === 201).body;
    assert.equal((await orgNames()).filter((n) => n === name).length, 1);
    for (const h of nodes) await seenOn(h, `/organizations/${name}`, (o) => o.id === winner.id);
  }
  // two names, one domain
  const rs = await Promise.all(nodes.map((h, i) =>
    api(h, 'POST', '/organizations', { name: `dom${i}`, domains: ['shared.example.com'] })));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409], rs.map((r) => r.text).join('\n'));
  const loser = `dom${rs.findIndex((r) => r.status === 409)}`;
  assert.ok(!(await orgNames()).includes(loser), `${loser} half-written in the database`);
  await sleep(500);
  for (const h of nodes) assert.equal((await api(h, 'GET', `/organizations/${loser}`)).status, 404);
  // every index of each node's replica consistent
  for (const h of nodes) {
    const check = await h.orgctl('check');
    assert.equal(check.code, 0, check.stderr + check.stdout);
  }
});

test('a create on B whose replica is behind (its replicator paused) is computed again on the change log: 409, ORGS00854', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const pid = replicatorPid(b);
  process.kill(pid, 'SIGSTOP');
  try {
    assert.equal((await api(a, 'POST', '/organizations', { name: 'first' })).status, 201);
    const mark = b.logMark();
    const r = await api(b, 'POST', '/organizations', { name: 'first', display_name: 'B' });
    assertError(r, 409);
    // B's child brought its replica up to the change log and asked again:
    // the name is A's, never overwritten from B's older state
    await b.waitForLog(/ORGS00854: admin API: computed on this node's replica while it was behind the PostgreSQL change log/,
      { from: mark });
    const seen = await api(b, 'GET', '/organizations/first');
    assert.equal(seen.status, 200);
    assert.notEqual(seen.body.display_name, 'B');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const org = JSON.parse(await pgctlOk('--json', 'org', 'show', 'first'));
  assert.notEqual(org.display_name, 'B');
  await seenOn(b, '/organizations/first', (o) => o.display_name !== 'B');
});

test('PostgreSQL down: writes 503 (ORGS00863), reads work, a login start 503 (ORGS00867); back: writes work, no restart', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const marks = nodes.map((h) => h.logMark());
  await pg.kill();
  let r = await api(a, 'POST', '/organizations', { name: 'during' });
  assertError(r, 503);
  assert.equal(r.headers['retry-after'], '5');
  await a.waitForLog(/ORGS00863: admin API: POST \/orgs\/api\/v1\/organizations by tok_\w+ not made: PostgreSQL cannot be reached/,
    { from: marks[0] });
  // nothing written: not in A's replica
  assert.equal((await api(a, 'GET', '/organizations/during')).status, 404);
  // reads keep working from each replica
  for (const h of nodes) assert.equal((await api(h, 'GET', '/organizations/acme')).status, 200);
  // a login start on a process that just found the database down: 503 at
  // once, not at the callback (which child answers is httpd's choice:
  // a write first, then the login start, until one lands on that child)
  let start;
  await until(async () => {
    assertError(await api(a, 'DELETE', '/organizations/acme'), 503);
    start = await a.client().get('/orgs/login?organization=acme&connection=okta1&return_to=/app/', { headers: HTML });
    return start.status === 503;
  }, { timeoutMs: 20000, stepMs: 0 });
  assert.match(start.body, /temporarily unavailable/i);
  assert.equal(start.headers['retry-after'], '5');
  await a.waitForLog(/ORGS00867: login start refused: this process found PostgreSQL down/, { from: marks[0] });
  assert.equal((await api(a, 'GET', '/organizations/acme')).status, 200); // the deletes: none made
  await pg.start();
  const t0 = performance.now();
  await until(async () => (await api(a, 'POST', '/organizations', { name: 'after' })).status === 201,
    { timeoutMs: 15000, stepMs: 200 });
  report(t, `PostgreSQL back -> an admin write on A succeeded after ${(performance.now() - t0).toFixed(0)} ms (no restart)`);
  await seenOn(b, '/organizations/after', () => true);
  assert.ok((await orgNames()).includes('after'));
  assert.ok(!(await orgNames()).includes('during'));
});
