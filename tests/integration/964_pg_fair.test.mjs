// Layer 964: fairness of a PostgreSQL store's writers. Two httpd nodes on
// one throw-away database (lib/pg.mjs), each with its own replica and API
// token. Covers: one tenant keeping the change log moving (admin API writes
// for org X in loops on node A) does not make another tenant's sign-ins and
// admin writes on node B answer 503: B's writes find the log moved on,
// compute again (ORGS00854) and, past a few attempts, are computed and
// written holding the writers' lock (ORGS00870), so every one succeeds.
// A psql session holding the writers' advisory lock for 5 s: B's admin
// write and sign-in answer 503 busy (ORGS00871, Retry-After), not down
// (no ORGS00842), and login starts on B keep going to the IdP (no
// ORGS00867); once the lock is free both work. OrgsAdminWritesPerMinute
// (B restarted with a bound of 5): org X's sixth change in the minute
// answers 429 with Retry-After (ORGS00872), by its id as by its name, while
// org Y's changes on B at the same moment succeed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { PgStore, nodeServerOrgs } from './lib/pgnodes.mjs';
import { pgSql } from './lib/pg.mjs';
import { sleep } from './lib/proc.mjs';

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
const USERS = ['alice', 'bob', 'carol', 'dave'];

let s;
let skip;
let op;
const tokens = new Map();

async function api(h, method, path, json) {
  const r = await h.client().request(method, `${BASE}${path}`, {
    json,
    headers: { authorization: `Bearer ${tokens.get(h)}` },
  });
  return { status: r.status, headers: r.headers, text: r.body };
}

async function signInOn(h, org, email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: `/orgs/login?organization=${org}&connection=okta1&return_to=/app/`,
    email,
  });
  return { app, r };
}

function report(t, msg) {
  t.diagnostic(msg);
  process.stdout.write(`# ${msg}\n`);
}

const count = (h, re, mark) => [...h.errorLog().slice(mark).matchAll(re)].length;

before(async () => {
  s = await PgStore.start();
  if (s.skip) {
    skip = s.skip;
    return;
  }
  // no bound on an org's admin changes: org X's loops are the load
  const nodes = await s.addNodes(['a', 'b'], { name: 'pgfair', body, extra: 'OrgsAdminWritesPerMinute 0' });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: nodes.map((h) => `${h.baseURL}/orgs/callback`),
    users: USERS.map((n) => ({ email: `${n}@y.example.com`, sub: `okta1-${n}` })),
  });
  await s.ctlOk('init');
  await s.ctlOk('org', 'create', 'orgx');
  await s.ctlOk('org', 'create', 'orgy', '--domain', 'y.example.com');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
  await s.ctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await s.ctlOk('org', 'enable-conn', 'orgy', 'okta1', '--auto-membership');
  await s.startNodes();
  for (const h of nodes) tokens.set(h, await h.orgctlOk('token', 'create', '--name', 'tests'));
});

after(async () => {
  await s?.close();
  await op?.stop();
});

test('org X keeping the change log moving on A: B\'s sign-ins and admin writes for org Y all succeed', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = s.nodes;
  const markB = b.errorLog().length;
  let stop = false;
  const churn = { ok: 0, other: {} };
  // org X's admin: display_name changes in loops, as fast as A takes them
  const loops = Array.from({ length: 6 }, async (_, i) => {
    for (let k = 0; !stop; k++) {
      const r = await api(a, 'PATCH', '/organizations/orgx', { display_name: `X ${i}.${k}` });
      if (r.status === 200) churn.ok++;
      else churn.other[r.status] = (churn.other[r.status] ?? 0) + 1;
    }
  });
  const seen = {};
  const note = (what, status) => {
    seen[what] = seen[what] ?? {};
    seen[what][status] = (seen[what][status] ?? 0) + 1;
  };
  const t0 = performance.now();
  try {
    // let the churn get going
    while (churn.ok < 20 && performance.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 50));
    for (let round = 0; round < 3; round++) {
      for (const u of USERS) {
        const { app, r } = await signInOn(b, 'orgy', `${u}@y.example.com`);
        note('sign-in', r.stage === 'app' ? 'ok' : describeHops(r.hops));
        const res = await app.get('/app/', { headers: HTML });
        assert.equal(res.status, 200);
      }
      for (let k = 0; k < 6; k++) {
        const r = await api(b, 'PATCH', '/organizations/orgy', { display_name: `Y ${round}.${k}` });
        note('admin', r.status === 200 ? 'ok' : `${r.status} ${r.text}`);
      }
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  const log = b.errorLog().slice(markB);
  const recomputed = count(b, /ORGS00854: /g, markB);
  const locked = count(b, /ORGS00870: /g, markB);
  const failed = count(b, /ORGS00853: /g, markB);
  report(t, `B under A's churn (${churn.ok} org X writes on A, others ${JSON.stringify(churn.other)}): ` +
    `B's answers ${JSON.stringify(seen)}; B computed again ${recomputed} times (ORGS00854), ` +
    `${locked} times holding the writers' lock (ORGS00870), ${failed} gave up (ORGS00853)`);
  assert.deepEqual(seen, { 'sign-in': { ok: 12 }, admin: { ok: 18 } }, log.slice(-3000));
  assert.equal(failed, 0);
  // the test exercises the stale path: B's writes found the log moved on
  assert.ok(recomputed + locked > 0, 'B never found the change log moved on');
  // A's own writers meet one another too: none of them gave up either
  assert.deepEqual(churn.other, {});
  const y = JSON.parse(await s.ctlOk('--json', 'org', 'show', 'orgy'));
  assert.equal(y.display_name, 'Y 2.5');
});

test('the writers\' lock held 5 s by psql: B\'s admin write and sign-in answer 503 busy (ORGS00871), not down; login starts go on', async (t) => {
  if (skip) return t.skip(skip);
  const [, b] = s.nodes;
  const mark = b.logMark();
  // the key every writer locks (ORGS_PG_LOCK)
  const holder = pgSql(s.uri, 'SELECT pg_advisory_lock(1869768563, 1), pg_sleep(5)');
  // held once pg_locks shows it granted (psql may take a moment to start)
  for (;;) {
    const out = await pgSql(s.uri, "SELECT 'held=' || count(*) FROM pg_locks WHERE " +
      "locktype = 'advisory' AND classid = 1869768563 AND objid = 1 AND granted");
    if (/held=1/.test(out)) break;
    await sleep(20);
  }
  const t0 = performance.now();
  const [w, si] = await Promise.all([
    api(b, 'PATCH', '/organizations/orgy', { display_name: 'during the lock' }),
    signInOn(b, 'orgy', 'alice@y.example.com'),
  ]);
  const waited = performance.now() - t0;
  assert.equal(w.status, 503, w.text);
  assert.match(w.text, /busy/);
  assert.ok(Number(w.headers['retry-after']) > 0, JSON.stringify(w.headers));
  const last = si.r.hops[si.r.hops.length - 1];
  assert.notEqual(si.r.stage, 'app', describeHops(si.r.hops));
  assert.equal(last.status, 503, describeHops(si.r.hops));
  assert.ok(Number(last.headers?.['retry-after'] ?? 1) > 0);
  await b.waitForLog(/ORGS00871: admin API: PostgreSQL is busy/, { from: mark });
  await b.waitForLog(/ORGS00871: sign-in: PostgreSQL is busy/, { from: mark });
  // login starts right after, on whichever child: to the IdP, not 503
  for (let i = 0; i < 8; i++) {
    const start = await b.client().get('/orgs/login?organization=orgy&connection=okta1&return_to=/app/',
      { headers: HTML });
    assert.ok([302, 303].includes(start.status), `${start.status} ${start.body}`);
  }
  await holder;
  const after = b.errorLog(mark);
  assert.doesNotMatch(after, /ORGS00842|ORGS00867|ORGS00863|ORGS00853/);
  report(t, `the writers' lock held by psql: B's admin write and sign-in answered 503 busy after ${waited.toFixed(0)} ms`);
  // the lock free: both work, nothing to restart
  const again = await api(b, 'PATCH', '/organizations/orgy', { display_name: 'after the lock' });
  assert.equal(again.status, 200, again.text);
  const ok = await signInOn(b, 'orgy', 'alice@y.example.com');
  assert.equal(ok.r.stage, 'app', describeHops(ok.r.hops));
  assert.equal(JSON.parse(await s.ctlOk('--json', 'org', 'show', 'orgy')).display_name, 'after the lock');
});

test('OrgsAdminWritesPerMinute 5 on B: org X\'s sixth change answers 429 (ORGS00872), org Y\'s go on', async (t) => {
  if (skip) return t.skip(skip);
  const [, b] = s.nodes;
  b.opts.serverOrgs = nodeServerOrgs('OrgsAdminWritesPerMinute 5');
  b.writeConf();
  await b.graceful({ waitMs: 2000 });
  const x = JSON.parse(await s.ctlOk('--json', 'org', 'show', 'orgx'));
  const mark = b.logMark();
  for (let k = 0; k < 5; k++) {
    const r = await api(b, 'PATCH', '/organizations/orgx', { display_name: `bound ${k}` });
    assert.equal(r.status, 200, r.text);
  }
  // the sixth, by name and by id, with org Y's at the same moment
  const [byName, byId, y1, y2] = await Promise.all([
    api(b, 'PATCH', '/organizations/orgx', { display_name: 'over' }),
    api(b, 'DELETE', `/organizations/${x.id}`),
    api(b, 'PATCH', '/organizations/orgy', { display_name: 'y at once' }),
    api(b, 'POST', '/organizations/orgy/domains', { domain: 'y2.example.com' }),
  ]);
  for (const r of [byName, byId]) {
    assert.equal(r.status, 429, r.text);
    assert.equal(JSON.parse(r.text).statusCode, 429);
    const after = Number(r.headers['retry-after']);
    assert.ok(after >= 1 && after <= 60, r.headers['retry-after']);
  }
  assert.equal(y1.status, 200, y1.text);
  assert.equal(y2.status, 201, y2.text);
  await b.waitForLog(/ORGS00872: admin API: PATCH \/orgs\/api\/v1\/organizations\/orgx by tok_\w+ refused \(429\): organization orgx made 5 changes/,
    { from: mark });
  // nothing of the refused ones written; reads are not counted
  assert.equal((await api(b, 'GET', '/organizations/orgx')).status, 200);
  const inDb = JSON.parse(await s.ctlOk('--json', 'org', 'show', 'orgx'));
  assert.equal(inDb.display_name, 'bound 4');
  report(t, `OrgsAdminWritesPerMinute 5: org X's 6th change 429 (Retry-After ${byName.headers['retry-after']} s), org Y's 200/201`);
});
