// Layer 951: sign-ins written through PostgreSQL. Two httpd nodes on one
// throw-away database (lib/pg.mjs), each with its own replica. Covers: a
// sign-in on node A (user upserted, membership added by auto-membership,
// session) holds on node B at once, with the time printed; a session B's
// replica does not hold yet (its replicator paused) is looked up in the
// database once and then served from B's replica; made-up session cookies
// sprayed at B are not all looked up (ORGS00849); a sign-out on B ends the
// session on A within a second (the lag printed); PostgreSQL down: a
// sign-in and a sign-out answer 503 with the temporary page and ORGS00842,
// signed-in sessions keep working on both nodes, and sign-ins work again
// once it is back, with no restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { ORGCTL } from './lib/paths.mjs';
import { run, sleep } from './lib/proc.mjs';
import { APP_BODY, PgStore, replicatorPid, until } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const body = APP_BODY;
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'grace'];

let store;
let pg;
let skip;
let op;
let nodes = [];

const pgctlOk = (...args) => store.ctlOk(...args);

// Signs in on node h; the browser (its cookie jar) and the hops.
async function signInOn(h, email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/',
    email,
  });
  return { app, r };
}

async function signedInOn(h, email) {
  const { app, r } = await signInOn(h, email);
  assert.equal(r.stage, 'app', `${email} could not sign in on ${h.baseURL}\n${describeHops(r.hops)}`);
  return app;
}

// The same browser (cookie jar) talking to another node.
const onNode = (h, app) => h.client({ jar: app.jar });

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  // one child process per node (its 32 threads serve every request): the
  // outage test waits for the child that logged the outage to log its end,
  // and with several children httpd may hand every later request to another
  const oneChild = 'ServerLimit 1\nStartServers 1\nThreadsPerChild 32\nMaxRequestWorkers 32\n'
    + 'MinSpareThreads 1\nMaxSpareThreads 32';
  nodes = await store.addNodes(['a', 'b'], { name: 'pgsign', body, extra: oneChild });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: USERS.map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  assert.match(await pgctlOk('init'), /schema version 4 created/);
  await pgctlOk('org', 'create', 'org1', '--domain', 'org1.example.com');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await pgctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  // no members: each sign-in joins by auto-membership, written to the database
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1', '--auto-membership');
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('a sign-in on node A holds on node B at once; the membership it made is in the database', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const times = [];
  const again = [];
  const writes = [];
  for (const n of ['alice', 'bob', 'carol']) {
    const mark = a.logMark();
    const app = await signedInOn(a, `${n}@org1.example.com`);
    const t0 = performance.now();
    const res = await onNode(b, app).get('/app/', { headers: HTML });
    times.push(performance.now() - t0);
    assert.equal(res.status, 200, `${n} on node B`);
    assert.match(res.body, new RegExp(`ORG_EMAIL=${n}@org1\\.example\\.com`));
    // the same request again: the baseline of B's answer (CGI included)
    const t1 = performance.now();
    assert.equal((await onNode(b, app).get('/app/', { headers: HTML })).status, 200);
    again.push(performance.now() - t1);
    assert.equal((await app.get('/app/', { headers: HTML })).status, 200);
    const m = a.errorLog(mark).match(/ORGS00848: sign-in of user usr_\w+ written to PostgreSQL as change \d+ in (\d+) us/);
    assert.ok(m, 'no ORGS00848 line');
    writes.push(Number(m[1]) / 1000);
  }
  const msg = `login on A -> first request on B answered 200 in ${times.map((x) => x.toFixed(0)).join(', ')} ms ` +
    `(the next request: ${again.map((x) => x.toFixed(0)).join(', ')} ms); ` +
    `the PostgreSQL write of a sign-in took ${writes.map((x) => x.toFixed(1)).join(', ')} ms (median ${median(writes).toFixed(1)})`;
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
  // the database holds the users and their memberships (auto-membership)
  const members = JSON.parse(await pgctlOk('--json', 'member', 'list', 'org1'));
  assert.deepEqual(members.map((x) => x.email).sort(),
    ['alice@org1.example.com', 'bob@org1.example.com', 'carol@org1.example.com']);
  assert.deepEqual(members.map((x) => x.roles.length), [0, 0, 0]);
});

test('replication alone: the session reaches B\'s replica within a second of the sign-in on A', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const mark = b.logMark();
  await signedInOn(a, 'gina@org1.example.com');
  // B's replica, read as httpd reads it; no request to B (no lookup)
  const lag = await until(async () => {
    const r = await run(ORGCTL, ['-s', b.storeDir, '--json', 'member', 'list', 'org1']);
    return r.code === 0 && JSON.parse(r.stdout).some((m) => m.email === 'gina@org1.example.com');
  });
  const msg = `sign-in on A -> its change in B's replica after ${lag.toFixed(0)} ms (one orgctl read of B's replica takes tens of ms here)`;
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
  assert.ok(lag < 1000, `lag ${lag} ms`);
  assert.doesNotMatch(b.errorLog(mark), /ORGS00850: /);
});

test('an invitation accepted at a sign-in on A: consumed in the database, its roles on B', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const made = await pgctlOk('invite', 'create', 'org1', 'grace@org1.example.com', '--role', 'admin');
  const path = made.split('\n').find((l) => l.includes('invitation=')).replace(/^.*?(\/orgs\/login)/, '$1');
  await store.synced([a]); // A's replica holds the invitation before the browser shows it
  const app = a.client();
  const r = await signIn(app, { start: path, idp: new Client(), connection: 'okta1', email: 'grace@org1.example.com' });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  const res = await onNode(b, app).get('/app/', { headers: HTML });
  assert.equal(res.status, 200);
  assert.match(res.body, /ORG_ROLES=admin/);
  const members = JSON.parse(await pgctlOk('--json', 'member', 'list', 'org1'));
  assert.deepEqual(members.find((m) => m.email === 'grace@org1.example.com').roles, ['admin']);
  assert.equal(JSON.parse(await pgctlOk('--json', 'invite', 'list', 'org1')).length, 0);
});

test('a session B does not hold yet is looked up in the database once, then served by B', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const pid = replicatorPid(b);
  // stopped while idle (caught up, waiting for a notification), not in the
  // middle of a replica write the request's lookup would then wait for
  await store.synced([b]);
  process.kill(pid, 'SIGSTOP'); // B's replica receives nothing meanwhile
  try {
    const app = await signedInOn(a, 'dave@org1.example.com');
    const mark = b.logMark();
    const onB = onNode(b, app);
    assert.equal((await onB.get('/app/', { headers: HTML })).status, 200);
    await b.waitForLog(/ORGS00850: a session made on another node was found in PostgreSQL/, { from: mark });
    for (let i = 0; i < 3; i++) assert.equal((await onB.get('/app/', { headers: HTML })).status, 200);
    // kept in B's replica: asked once only
    assert.equal([...b.errorLog(mark).matchAll(/ORGS00850: /g)].length, 1);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
});

test('made-up session cookies sprayed at B: at most a few lookups a second, all 401', async (t) => {
  if (skip) return t.skip(skip);
  const b = nodes[1];
  const mark = b.logMark();
  const statuses = [];
  for (let i = 0; i < 60; i++) {
    const c = b.client();
    c.jar.set('orgs_org', 'org1');
    c.jar.set('orgs_sess_org1', crypto.randomBytes(32).toString('base64url'));
    statuses.push((await c.get('/app/', { headers: HTML })).status);
  }
  assert.ok(statuses.every((s) => s === 401), statuses.join(','));
  await b.waitForLog(/ORGS00849: unknown session cookies arrive faster than 10 a second/, { from: mark });
  assert.doesNotMatch(b.errorLog(mark), /ORGS00850: /);
});

test('a sign-out on node B ends the session on node A within a second', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const app = await signedInOn(a, 'erin@org1.example.com');
  assert.equal((await onNode(b, app).get('/app/', { headers: HTML })).status, 200);
  // a copy of the cookie, as a second tab of the browser on node A keeps it
  const sid = app.jar.get('orgs_sess_org1').value;
  const res = await onNode(b, app).get('/orgs/logout?organization=org1', { headers: HTML });
  assert.equal(res.status, 302);
  const t0 = performance.now();
  const onA = a.client();
  onA.jar.set('orgs_org', 'org1');
  onA.jar.set('orgs_sess_org1', sid);
  const lag = await until(async () => (await onA.get('/app/', { headers: HTML })).status === 401);
  const msg = `sign-out on B -> refused on A after ${lag.toFixed(0)} ms (${(performance.now() - t0).toFixed(0)} ms incl. the last request)`;
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
  assert.ok(lag < 1000, `lag ${lag} ms`);
  const onB = b.client();
  onB.jar.set('orgs_org', 'org1');
  onB.jar.set('orgs_sess_org1', sid);
  assert.equal((await onB.get('/app/', { headers: HTML })).status, 401);
});

test('PostgreSQL down: sign-in and sign-out 503 with ORGS00842, sessions keep working, sign-in back without restart', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const frankA = await signedInOn(a, 'frank@org1.example.com');
  const marks = nodes.map((h) => h.logMark());
  await pg.kill();
  // a sign-in through A's callback: the temporary page
  const { r } = await signInOn(a, 'alice@org1.example.com');
  const last = r.hops[r.hops.length - 1];
  assert.equal(last.status, 503, describeHops(r.hops));
  assert.match(last.url, /\/orgs\/callback/);
  assert.match(last.body, /temporarily unavailable/i);
  assert.equal(last.headers['retry-after'], '5');
  await a.waitForLog(/ORGS00842: OrgsStore postgresql:\/\/orgs@127\.0\.0\.1:\d+\/postgres: PostgreSQL cannot be reached from this process/,
    { from: marks[0] });
  // a sign-out on B: 503, and nothing ended
  const out = await onNode(b, frankA).get('/orgs/logout?organization=org1', { headers: HTML });
  assert.equal(out.status, 503);
  await b.waitForLog(/ORGS00842: /, { from: marks[1] });
  // signed-in sessions keep working from each replica
  for (const h of nodes) assert.equal((await onNode(h, frankA).get('/app/', { headers: HTML })).status, 200);
  // once per outage and process, not per request
  for (let i = 0; i < 5; i++) await signInOn(a, 'bob@org1.example.com');
  const lines = [...a.errorLog(marks[0]).matchAll(/ORGS00842: /g)].length;
  assert.ok(lines <= 4, `${lines} ORGS00842 lines`); // at most one per child
  await pg.start();
  // no restart: within a few seconds a sign-in works again
  let ok;
  await until(async () => {
    ok = await signInOn(a, 'bob@org1.example.com');
    return ok.r.stage === 'app';
  }, { timeoutMs: 15000, stepMs: 500 });
  assert.equal((await onNode(b, ok.app).get('/app/', { headers: HTML })).status, 200);
  // each child that logged the outage logs its end at its next write; which
  // child a sign-in lands on is httpd's choice, so sign in until one has (a
  // child still inside its once-a-second retry window answers 503 meanwhile)
  const stages = [];
  await until(async () => {
    if (/ORGS00843: /.test(a.errorLog(marks[0]))) return true;
    stages.push((await signInOn(a, 'bob@org1.example.com')).r.stage);
    return false;
  }, { timeoutMs: 15000, stepMs: 100 });
  assert.ok(stages.every((s) => s === 'app' || s === 'error'), stages.join(' '));
  // and a sign-out ends the session everywhere again
  assert.equal((await onNode(b, frankA).get('/orgs/logout?organization=org1', { headers: HTML })).status, 302);
  await until(async () => (await frankA.get('/app/', { headers: HTML })).status === 401);
});
