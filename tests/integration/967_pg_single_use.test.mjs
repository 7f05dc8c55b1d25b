// Layer 967: a PostgreSQL store keeps in the database what one node used to
// keep alone. Covers: a sealed pending login is single use across nodes
// (its sign-in records it in pending_used in the same SQL transaction):
// the callback URL and a copy of the pending cookie replayed on the other
// node are refused before the IdP is asked (400, ORGS00215), while a
// normal callback on the other node than the start works; expired rows of
// pending_used are pruned by the next sign-in; refused sign-ins to an org
// that admits nobody (anyone with an account at a connection it enables
// can make them) count against that org and connection together, bounded by
// OrgsMaxSessionsPerOrg in the cluster across both nodes (503,
// Retry-After, ORGS00260, nothing written), never against the org's own share: another
// org of the same IdP still signs in; orgctl's writes on the
// database record their audit records in audit_log in the change's own
// transaction, `orgctl audit` on the database lists them (with --org),
// and a write that fails leaves no record.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { Client, CookieJar } from './lib/client.mjs';
import { DEFAULT_PASSWORD, startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, errorCode, parseForm } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { run } from './lib/proc.mjs';
import { pgBinDir, pgSql } from './lib/pg.mjs';
import { PgStore } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const START = '/orgs/login?organization=org1&connection=okta1&return_to=%2Fapp%2F';
const START_CLOSED = '/orgs/login?organization=closed&connection=okta1&return_to=%2Fapp%2F';
// the bound of each org's sessions, and of its live pending_used rows
const CAP = 3;
const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>`;

let store;
let skip;
let op;
let nodes = [];

const pgctlOk = (...args) => store.ctlOk(...args);

async function sqlValue(sql) {
  const psql = pgBinDir() ? join(pgBinDir(), 'psql') : 'psql';
  const r = await run(psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', store.uri, '-c', sql]);
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

// A browser behind a load balancer: one jar for both nodes.
function browser() {
  const jar = new CookieJar();
  return { jar, on: (h) => h.client({ jar }), idp: new Client() };
}

// A login started on node `from`, through the IdP: the callback URL, not followed.
async function toCallback(b, from, email, start = START) {
  const res = await b.on(from).get(start, { headers: HTML });
  assert.equal(res.status, 302, `login start: ${res.status} ${res.body}`);
  let req = { method: 'GET', url: res.location };
  let formUsed = false;
  for (let i = 0; i < 20; i++) {
    if (new URL(req.url).pathname === '/orgs/callback') return req.url;
    const r = await b.idp.request(req.method, req.url, { headers: HTML, form: req.form });
    if ([302, 303].includes(r.status) && r.location) {
      req = { method: 'GET', url: r.location };
      continue;
    }
    const form = parseForm(r.body, /\/interaction\/[^/]+\/login$/);
    assert.ok(form && !formUsed, `stuck at the IdP: ${r.status} ${req.url}`);
    formUsed = true;
    req = {
      method: 'POST',
      url: new URL(form.action, r.url).toString(),
      form: { ...form.fields, login: email, password: DEFAULT_PASSWORD },
    };
  }
  throw new Error('no callback');
}

const onNode = (url, h) => url.replace(/^http:\/\/[^/]+/, h.baseURL);
const pendingCookies = (jar) => jar.cookies.filter((c) => /^orgs_pl\d$/.test(c.name));

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  nodes = await store.addNodes(['a', 'b'], {
    name: 'pgonce', body,
    extra: (ns) => `OrgsPublicURL ${ns[0].baseURL}\nOrgsMaxSessionsPerOrg ${CAP}`,
  });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: [`${nodes[0].baseURL}/orgs/callback`],
    users: ['alice', 'bob'].map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  await pgctlOk('init');
  await pgctlOk('org', 'create', 'org1');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await pgctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1');
  // closed admits nobody: its sign-ins through okta1 are all denied
  await pgctlOk('org', 'create', 'closed');
  await pgctlOk('org', 'enable-conn', 'closed', 'okta1');
  for (const n of ['alice', 'bob']) {
    await pgctlOk('member', 'add', 'org1', '--connection', 'okta1', '--email', `${n}@org1.example.com`);
  }
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('a sealed pending login is single use across nodes; a callback on the other node works', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  // an expired row, pruned by the next sign-in
  await pgSql(store.uri, "INSERT INTO pending_used VALUES (repeat('0', 64), now() - interval '1 hour', 'con_gone')");

  const br = browser();
  const callback = await toCallback(br, a, 'alice@org1.example.com');
  const [sealed] = pendingCookies(br.jar);
  const copy = sealed.value;
  const markB = b.logMark();
  const res = await br.on(b).get(onNode(callback, b), { headers: HTML });
  assert.equal(res.status, 302, `callback on B: ${res.status} ${res.body}\n${b.errorLog(markB)}`);
  assert.equal(new URL(res.location).pathname, '/app/');
  await b.waitForLog(/ORGS00229: user \S+ signed in to org org1 via connection okta1/, { from: markB });
  assert.equal(await sqlValue('SELECT count(*) FROM pending_used'), '1');
  assert.equal(await sqlValue("SELECT count(*) FROM pending_used WHERE state_hash = repeat('0', 64)"), '0');

  // the same callback URL with a copy of the cookie, on A (which never saw
  // it) and on B: refused as a used state, the IdP not asked again
  for (const h of [a, b]) {
    br.jar.set('orgs_pl1', copy);
    const mark = h.logMark();
    const r = await br.on(h).get(onNode(callback, h), { headers: HTML });
    assert.equal(r.status, 400, `${h.baseURL}: ${r.status} ${r.body}`);
    assert.equal(errorCode(r.body), 'invalid_request');
    await h.waitForLog(/ORGS00215: callback: state unknown, forged or already used/, { from: mark });
    assert.doesNotMatch(h.errorLog(mark), /ORGS00229|ORGS00223/);
  }
  assert.equal(pendingCookies(br.jar).length, 0);

  // another login, started on B and called back on A: works
  const br2 = browser();
  const cb2 = await toCallback(br2, b, 'bob@org1.example.com');
  const r2 = await br2.on(a).get(onNode(cb2, a), { headers: HTML });
  assert.equal(r2.status, 302, `callback on A: ${r2.status} ${r2.body}`);
  const app = await br2.on(a).get('/app/', { headers: HTML });
  assert.equal(app.status, 200);
  assert.match(app.body, /ORG_EMAIL=bob@org1\.example\.com/);
  assert.equal(await sqlValue('SELECT count(*) FROM pending_used'), '2');
});

test("orgctl's writes on the database keep their audit records there, read by orgctl audit", async (t) => {
  if (skip) return t.skip(skip);
  const before = Number(await sqlValue('SELECT count(*) FROM audit_log'));
  // the setup's writes were recorded: org create, conn create, enable, two members
  assert.ok(before >= 5, `${before} audit records after the setup`);
  await pgctlOk('org', 'create', 'org2', '--domain', 'org2.example.com');
  await pgctlOk('org', 'add-domain', 'org2', 'two.example.com');
  assert.equal(Number(await sqlValue('SELECT count(*) FROM audit_log')), before + 2);
  // a write that fails (the name is taken) records nothing
  const r = await store.ctl('org', 'create', 'org2');
  assert.equal(r.code, 4, r.stderr);
  assert.equal(Number(await sqlValue('SELECT count(*) FROM audit_log')), before + 2);
  const all = JSON.parse(await pgctlOk('--json', 'audit', '--limit', '1000')).records;
  assert.equal(all.length, before + 2);
  const org2 = JSON.parse(await pgctlOk('--json', 'audit', '--org', 'org2')).records;
  assert.deepEqual(org2.map((x) => x.action), ['org.create', 'org.domain.add']);
  assert.match(org2[0].actor, /^orgctl:/);
  const text = await pgctlOk('audit', '--org', 'org1');
  assert.match(text, /org\.create/);
  assert.match(text, /member\.add/);
  // a node's own audit stays per node (its sign-ins, its admin API)
  const onA = await run(ORGCTL, ['-s', nodes[0].storeDir, '--json', 'audit']);
  assert.equal(onA.code, 0, onA.stderr);
  assert.ok(!JSON.parse(onA.stdout).records.some((x) => x.action === 'org.create'));
});

test(`refused sign-ins fill their own pending_used share (org and connection), OrgsMaxSessionsPerOrg ${CAP} in the cluster (503, ORGS00260); an org of the same IdP still signs in`, async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const owner = "(SELECT o.id || '/' || c.id FROM orgs o, conns c WHERE o.name = 'closed' AND c.name = 'okta1')";
  const connRows = `SELECT count(*) FROM pending_used WHERE owner_id = ${owner}`;
  const connLive = `SELECT live FROM pending_used_owners WHERE owner_id = ${owner}`;
  const marks = nodes.map((h) => h.logMark());
  const outcome = [];
  // alternating nodes: each node's replica alone never holds the cap
  for (let i = 0; i < CAP + 2; i++) {
    const h = nodes[i % 2];
    const br = browser();
    const cb = await toCallback(br, h, 'alice@org1.example.com', START_CLOSED);
    outcome.push(await br.on(h).get(onNode(cb, h), { headers: HTML }));
  }
  assert.deepEqual(outcome.map((r) => r.status), [403, 403, 403, 503, 503],
    outcome.map((r) => `${r.status} ${r.body.slice(0, 80)}`).join(' | '));
  assert.equal(outcome[CAP].headers['retry-after'], '60');
  // the refusals on both nodes, each naming the org, the connection and the bound
  for (const i of [CAP, CAP + 1]) {
    const h = nodes[i % 2];
    await h.waitForLog(/ORGS00260: callback: org closed refuses too many sign-ins through connection okta1 .*not recorded: 3 sign-ins within the login timeout \(at most 3\) in the cluster/,
      { from: marks[i % 2] });
  }
  // the refused ones wrote nothing; the count is the rows'
  assert.equal(await sqlValue(connRows), String(CAP));
  assert.equal(await sqlValue(connLive), String(CAP));
  // an org of the same IdP still signs in: its members' rows are its own
  const br = browser();
  const cb = await toCallback(br, b, 'bob@org1.example.com');
  const r = await br.on(a).get(onNode(cb, a), { headers: HTML });
  assert.equal(r.status, 302, `org1's sign-in: ${r.status} ${r.body.slice(0, 200)}`);
  assert.equal(new URL(r.location).pathname, '/app/');
  assert.equal(await sqlValue(connRows), String(CAP));
  // once the connection's rows expire, the next sign-in prunes them, their
  // owner's count with them, and the refused one is recorded again
  await pgSql(store.uri, `UPDATE pending_used SET expires = now() - interval '1 second' WHERE owner_id = ${owner}`);
  const br3 = browser();
  const cb3 = await toCallback(br3, a, 'alice@org1.example.com', START_CLOSED);
  const r3 = await br3.on(a).get(onNode(cb3, a), { headers: HTML });
  assert.equal(r3.status, 403, `after expiry: ${r3.status} ${r3.body.slice(0, 200)}`);
  assert.equal(await sqlValue(connRows), '1');
  assert.equal(await sqlValue(connLive), '1');
  // an owner whose rows all expire and are pruned leaves no count behind:
  // the table holds the owners with live rows, not every org that signed in
  const org1 = "(SELECT id FROM orgs WHERE name = 'org1')";
  const org1Owners = `SELECT count(*) FROM pending_used_owners WHERE owner_id = ${org1}`;
  assert.equal(await sqlValue(org1Owners), '1');
  await pgSql(store.uri, `UPDATE pending_used SET expires = now() - interval '1 second' WHERE owner_id = ${org1}`);
  const br4 = browser();
  const cb4 = await toCallback(br4, b, 'alice@org1.example.com', START_CLOSED);
  const r4 = await br4.on(b).get(onNode(cb4, b), { headers: HTML });
  assert.equal(r4.status, 403, `the sign-in that prunes: ${r4.status} ${r4.body.slice(0, 200)}`);
  assert.equal(await sqlValue(`SELECT count(*) FROM pending_used WHERE owner_id = ${org1}`), '0');
  assert.equal(await sqlValue(org1Owners), '0');
  assert.equal(await sqlValue(connLive), '2');
});
