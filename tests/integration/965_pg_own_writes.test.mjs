// Layer 965: a node's own writes on its replica, and the admin API's bound
// per org on a plain LMDB store. Two httpd nodes on one throw-away database
// (lib/pg.mjs), a third whose replica is full, and an LMDB-only server.
// Covers: with B's replicator paused, B's own sign-in, sign-out and admin
// change each move B's replica position to the change the database gave
// them (the next one of the log), so the replicator has nothing older of
// them to apply again: the session B ended is never served again on B (it
// used to be, between two batches of the replicator); a write of A's in
// between leaves B's position where B caught up to, and B's next write
// follows it. A replica past its soft limit (OrgsStoreMaxSize, filled)
// still lets an admin API DELETE through (it used to answer 503,
// ORGS00862): the org is gone in the database and on A. On an LMDB store,
// OrgsAdminWritesPerMinute 3: org X's fourth change answers 429
// (ORGS00872) while org Y's go on; a bad value of it stops httpd at
// config time naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn, signOut } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { run, sleep } from './lib/proc.mjs';
import { PgStore, nodeServerOrgs } from './lib/pgnodes.mjs';
import { orgsFile } from './lib/storefill.mjs';

const HTML = { accept: 'text/html' };
const BASE = '/orgs/api/v1';
const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>
<Location /orgs/api/v1>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        Require org-api-token
        Require org-role admin
    </RequireAny>
</Location>`;

let s;
let skip;
let op;
let lmdb;
const tokens = new Map();

async function api(h, method, path, json) {
  const r = await h.client().request(method, `${BASE}${path}`, {
    json,
    headers: { authorization: `Bearer ${tokens.get(h)}` },
  });
  return { status: r.status, headers: r.headers, text: r.body };
}

async function signInOn(h, email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    email,
  });
  return { app, r };
}

function replicatorPid(h) {
  const all = [...h.errorLog().matchAll(/ORGS00832: .*replicator started \(pid (\d+)\)/g)];
  assert.ok(all.length, 'no ORGS00832 line');
  return Number(all[all.length - 1][1]);
}

// The replica's position and the change log's end.
async function position(h) {
  const r = await run(ORGCTL, ['-s', s.uri, '--json', 'replica-status', h.storeDir]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function report(t, msg) {
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
}

before(async () => {
  s = await PgStore.start();
  if (s.skip) {
    skip = s.skip;
    return;
  }
  const nodes = await s.addNodes(['a', 'b'], { name: 'pgown', body });
  // C's replica is small, to be filled past its soft limit
  const [c] = await s.addNodes(['c'], { name: 'pgown', body });
  c.opts.serverOrgs = nodeServerOrgs().replace('OrgsStoreMaxSize 64M', 'OrgsStoreMaxSize 8M');
  c.writeConf();
  for (const h of s.nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: s.nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: ['alice', 'bob'].map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  await s.ctlOk('init');
  await s.ctlOk('org', 'create', 'org1', '--domain', 'org1.example.com');
  await s.ctlOk('org', 'create', 'doomed');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await s.ctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await s.ctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await s.startNodes();
  for (const h of s.nodes) tokens.set(h, await h.orgctlOk('token', 'create', '--name', 'tests'));
});

after(async () => {
  await s?.close();
  await op?.stop();
  await lmdb?.close();
});

test('B\'s own sign-in, sign-out and admin change move its replica\'s position (replicator paused): the ended session is not served again', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = s.nodes;
  await s.synced();
  const pid = replicatorPid(b);
  await sleep(300); // not stopped inside a replica transaction
  process.kill(pid, 'SIGSTOP');
  const seen = [];
  let app;
  try {
    const p0 = await position(b);
    assert.equal(p0.behind, 0, JSON.stringify(p0));
    // a sign-in on B: the next change of the log, B's position follows it
    const si = await signInOn(b, 'alice@org1.example.com');
    assert.equal(si.r.stage, 'app', describeHops(si.r.hops));
    app = si.app;
    const p1 = await position(b);
    seen.push(['sign-in', p0.replica, p1.replica, p1.log]);
    assert.deepEqual([p1.replica, p1.behind], [p0.replica + 1, 0], JSON.stringify(p1));
    assert.equal((await app.get('/app/', { headers: HTML })).status, 200);
    // B's sign-out of that session
    const out = await signOut(app, { organization: 'org1' });
    assert.ok(out.hops.length, 'no sign-out');
    const p2 = await position(b);
    seen.push(['sign-out', p1.replica, p2.replica, p2.log]);
    assert.deepEqual([p2.replica, p2.behind], [p1.replica + 1, 0], JSON.stringify(p2));
    // an admin change on B
    const w = await api(b, 'PATCH', '/organizations/org1', { display_name: 'Org One' });
    assert.equal(w.status, 200, w.text);
    const p3 = await position(b);
    seen.push(['admin', p2.replica, p3.replica, p3.log]);
    assert.deepEqual([p3.replica, p3.behind], [p2.replica + 1, 0], JSON.stringify(p3));
    // A writes: B is behind; B's next write catches up first, then follows
    assert.equal((await api(a, 'PATCH', '/organizations/org1', { display_name: 'by A' })).status, 200);
    const p4 = await position(b);
    assert.equal(p4.behind, 1, JSON.stringify(p4));
    const w2 = await api(b, 'PATCH', '/organizations/org1', { display_name: 'by B' });
    assert.equal(w2.status, 200, w2.text);
    const p5 = await position(b);
    seen.push(['admin after A', p4.replica, p5.replica, p5.log]);
    assert.deepEqual([p5.replica, p5.behind], [p4.log + 1, 0], JSON.stringify(p5));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await s.synced();
  // the ended session stays ended on B and on A
  const res = await app.get('/app/', { headers: HTML });
  assert.equal(res.status, 401, res.body);
  report(t, `B's replica position (replicator paused), [write, before, after, log end]: ${JSON.stringify(seen)}`);
  for (const h of [a, b]) {
    const check = await h.orgctl('check');
    assert.equal(check.code, 0, check.stderr + check.stdout);
  }
  assert.equal(JSON.parse(await s.ctlOk('--json', 'org', 'show', 'org1')).display_name, 'by B');
});

test('a replica past its soft limit still lets an admin API DELETE through: the org is gone everywhere', async (t) => {
  if (skip) return t.skip(skip);
  const [a, , c] = s.nodes;
  // orgs of C's own (not in the database), until its replica refuses more
  let n = 0;
  for (const size of [50, 10, 1]) {
    for (;;) {
      const names = Array.from({ length: size }, (_, i) => `fill-${n + i}`);
      const r = await run(ORGCTL, ['-s', c.storeDir, 'import', orgsFile(c, `fill-${n}`, names)]);
      if (r.code !== 0) {
        assert.equal(r.code, 5, r.stderr);
        break;
      }
      n += size;
    }
  }
  const mark = c.logMark();
  // a change that grows the store is refused there (503)
  const grow = await api(c, 'POST', '/organizations', { name: 'more', metadata: { k: 'v'.repeat(200) } });
  assert.equal(grow.status, 503, grow.text);
  await c.waitForLog(/ORGS00862: /, { from: mark });
  const del = await api(c, 'DELETE', '/organizations/doomed');
  assert.equal(del.status, 204, del.text);
  assert.equal((await api(c, 'GET', '/organizations/doomed')).status, 404);
  const names = JSON.parse(await s.ctlOk('--json', 'org', 'list')).map((o) => o.name);
  assert.ok(!names.includes('doomed'), names.join(' '));
  await s.synced([a]);
  assert.equal((await api(a, 'GET', '/organizations/doomed')).status, 404);
  report(t, `C's replica filled with ${n} orgs of its own past its soft limit: a create 503 (ORGS00862), DELETE 204`);
});

test('OrgsAdminWritesPerMinute 3 on an LMDB store: org X\'s fourth change 429 (ORGS00872), org Y\'s go on', async (t) => {
  lmdb = await Httpd.create({ name: 'lmdb-rate', body,
    serverOrgs: 'OrgsStore {{STORE}}\nOrgsStoreMaxSize 64M\nOrgsCryptoKey file:{{KEY}}\nOrgsAdminWritesPerMinute 3' });
  // a bad value stops httpd at config time, naming the directive
  for (const v of ['-5', '1e3', 'off']) {
    const bad = await lmdb.configtest(body,
      `OrgsStore {{STORE}}\nOrgsStoreMaxSize 64M\nOrgsCryptoKey file:{{KEY}}\nOrgsAdminWritesPerMinute ${v}`);
    assert.notEqual(bad.code, 0, v);
    assert.match(bad.stderr, /OrgsAdminWritesPerMinute: must be a whole number/, bad.stderr);
  }
  lmdb.writeConf();
  await lmdb.orgctlOk('org', 'create', 'orgx');
  await lmdb.orgctlOk('org', 'create', 'orgy');
  tokens.set(lmdb, await lmdb.orgctlOk('token', 'create', '--name', 'tests'));
  const reader = await lmdb.orgctlOk('token', 'create', '--scope', 'read', '--name', 'reader');
  await lmdb.start();
  const mark = lmdb.logMark();
  // a caller who may not change org X (a read-only token) spraying changes
  // at it is refused (403) without spending X's minute
  for (let k = 0; k < 6; k++) {
    const r = await lmdb.client().request('POST', `${BASE}/organizations/orgx/domains`, {
      json: { domain: `r${k}.example.com` }, headers: { authorization: `Bearer ${reader}` },
    });
    assert.equal(r.status, 403, r.body);
  }
  for (let k = 0; k < 3; k++) {
    const r = await api(lmdb, 'POST', '/organizations/orgx/domains', { domain: `x${k}.example.com` });
    assert.equal(r.status, 201, r.text);
  }
  const [over, y] = await Promise.all([
    api(lmdb, 'POST', '/organizations/orgx/domains', { domain: 'x3.example.com' }),
    api(lmdb, 'POST', '/organizations/orgy/domains', { domain: 'y0.example.com' }),
  ]);
  assert.equal(over.status, 429, over.text);
  assert.ok(Number(over.headers['retry-after']) >= 1, over.headers['retry-after']);
  assert.equal(y.status, 201, y.text);
  await lmdb.waitForLog(/ORGS00872: admin API: POST \/orgs\/api\/v1\/organizations\/orgx\/domains by tok_\w+ refused \(429\)/,
    { from: mark });
  const x = JSON.parse(await lmdb.orgctlOk('--json', 'org', 'show', 'orgx'));
  assert.deepEqual([...x.domains].sort(), ['x0.example.com', 'x1.example.com', 'x2.example.com']);
  report(t, `LMDB store, OrgsAdminWritesPerMinute 3: org X's 4th change 429 (Retry-After ${over.headers['retry-after']} s), org Y's 201`);
});
