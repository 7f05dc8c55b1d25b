// Layer 952: a sign-in computed on a replica that is behind the database.
// Two httpd nodes on one throw-away database (lib/pgnodes.mjs); node B's
// replicator is paused (SIGSTOP by its pid) so B's replica misses what
// happens meanwhile. A sign-in on B is computed on B's replica; the
// database takes its change set only when no change came after the
// position it was computed on: otherwise B applies the missing changes to
// its replica itself and computes the sign-in again (ORGS00854). Covers: a
// single-use invitation followed on A and then on B is not admitted twice;
// an invitation revoked meanwhile is refused on B; a user deleted
// meanwhile is refused on B (403) and not re-created in the database; a
// node whose replicator is paused keeps signing in (its own writes move its
// replica's position: they do not make it wait). Malformed session cookies
// sprayed at B cost no lookup budget (no ORGS00849): a fresh session made
// on A is looked up by B right after (ORGS00850). A database that stops answering after taking a query
// (a loopback TCP proxy that stops forwarding) holds a sign-in no longer
// than the bound: 503 with ORGS00842 within seconds, and sign-ins work
// again once it answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';

import { Client } from './lib/client.mjs';
import { ENV_CGI, describeHops, signIn } from './lib/flow.mjs';
import { APP_BODY, PgStore, paused, replicaJson, report, signInOn, until } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

let store;
let skip;
let proxy;
let silent;
let nodes = [];

const pgctlOk = (...args) => store.ctlOk(...args);

async function inviteLink(...args) {
  const made = await pgctlOk('invite', 'create', 'org1', ...args);
  const line = made.split('\n').find((l) => l.includes('invitation='));
  return {
    path: line.replace(/^.*?(\/orgs\/login)/, '$1'),
    id: made.match(/\binv_\w+/)[0],
  };
}

async function follow(h, path, email) {
  const app = h.client();
  const r = await signIn(app, { start: path, idp: new Client(), connection: 'okta1', email });
  return { app, r, last: r.hops[r.hops.length - 1] };
}

const dbMembers = async () => JSON.parse(await pgctlOk('--json', 'member', 'list', 'org1')).map((m) => m.email).sort();

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  nodes = await store.addNodes(['a', 'b'], { name: 'pgstale', body: APP_BODY });
  // node C reaches the database through a proxy that can go silent; it
  // starts in its own test
  proxy = await silentProxy(Number(new URL(store.uri).port));
  [silent] = await store.addNodes(['c'], {
    name: 'pgstale', body: APP_BODY, uri: store.uri.replace(/:\d+\//, `:${proxy.port}/`),
  });
  for (const h of store.nodes) h.cgi('app/index.cgi', ENV_CGI);
  assert.match(await pgctlOk('init'), /schema version 4 created/);
  // no domain: an invited email need not be one the connection serves
  await pgctlOk('org', 'create', 'org1');
  await store.okta1(USERS);
  // members only: a user enters by an invitation
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1');
  await store.startNodes(nodes);
});

after(async () => {
  if (proxy) proxy.frozen = false;
  await store?.close();
  await proxy?.close();
});

test('a single-use invitation followed on A, then on B whose replica still has it open: admitted once', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const inv = await inviteLink('anyone@org1.example.com', '--any-email');
  // both replicas hold the open invitation before B's replicator stops
  for (const h of [a, b]) {
    await until(async () => (await replicaJson(h, 'invite', 'list', 'org1')).some((i) => i.id === inv.id));
  }
  const mark = b.logMark();
  await paused(b, async () => {
    const first = await follow(a, inv.path, 'alice@org1.example.com');
    assert.equal(first.r.stage, 'app', describeHops(first.r.hops));
    // B's replica still shows the invitation open: B's login page offers it
    const second = await follow(b, inv.path, 'bob@org1.example.com');
    assert.equal(second.last.status, 404, describeHops(second.r.hops));
    assert.match(second.last.url, /\/orgs\/callback/);
    assert.match(second.last.body, /already used/);
  });
  const log = b.errorLog(mark);
  assert.match(log, /ORGS00854: sign-in: computed on this node's replica while it was behind the PostgreSQL change log \(computed on a replica at change \d+, the change log is at \d+\): \d+ changes applied to the replica here, computed again/);
  assert.match(log, /ORGS00755: callback: invitation to org org1 unknown, already used or revoked: refused/);
  assert.doesNotMatch(log, /ORGS00759: /);
  assert.deepEqual(await dbMembers(), ['alice@org1.example.com']);
});

test('an invitation revoked while B\'s replica is behind: refused on B, not brought back', async (t) => {
  if (skip) return t.skip(skip);
  const b = nodes[1];
  const inv = await inviteLink('anyone@org1.example.com', '--any-email');
  await until(async () => (await replicaJson(b, 'invite', 'list', 'org1')).some((i) => i.id === inv.id));
  const mark = b.logMark();
  await paused(b, async () => {
    await pgctlOk('invite', 'revoke', inv.id);
    const res = await follow(b, inv.path, 'carol@org1.example.com');
    assert.equal(res.last.status, 404, describeHops(res.r.hops));
    assert.match(res.last.url, /\/orgs\/callback/);
  });
  const log = b.errorLog(mark);
  assert.match(log, /ORGS00854: sign-in: computed on this node's replica while it was behind/);
  assert.match(log, /ORGS00755: /);
  assert.deepEqual(await dbMembers(), ['alice@org1.example.com']);
  assert.equal(JSON.parse(await pgctlOk('--json', 'invite', 'list', 'org1')).length, 0);
});

test('a user deleted on A while B\'s replica is behind: refused on B (403), not re-created', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const inv = await inviteLink('dave@org1.example.com');
  await until(async () => (await replicaJson(a, 'invite', 'list', 'org1')).some((i) => i.id === inv.id));
  const joined = await follow(a, inv.path, 'dave@org1.example.com');
  assert.equal(joined.r.stage, 'app', describeHops(joined.r.hops));
  const users = JSON.parse(await pgctlOk('--json', 'user', 'list', '--email', 'dave@org1.example.com'));
  assert.equal(users.length, 1);
  await until(async () => (await replicaJson(b, 'member', 'list', 'org1')).some((m) => m.email === 'dave@org1.example.com'));
  const mark = b.logMark();
  await paused(b, async () => {
    await pgctlOk('user', 'delete', users[0].id);
    const res = await signInOn(b, 'dave@org1.example.com');
    assert.equal(res.last.status, 403, describeHops(res.r.hops));
    assert.match(res.last.url, /\/orgs\/callback/);
  });
  const log = b.errorLog(mark);
  assert.match(log, /ORGS00854: sign-in: computed on this node's replica while it was behind/);
  assert.match(log, /ORGS00226: access_denied: user \S+ of connection okta1 is not a member of org org1/);
  assert.deepEqual(await dbMembers(), ['alice@org1.example.com']);
  const after = JSON.parse(await pgctlOk('--json', 'user', 'list', '--email', 'dave@org1.example.com'));
  assert.ok(after.every((u) => u.id !== users[0].id), 'the deleted user is back');
});

test('with its replicator paused, a node signs in again and again: its own writes do not make it wait', async (t) => {
  if (skip) return t.skip(skip);
  const a = nodes[0];
  const mark = a.logMark();
  const times = await paused(a, async () => {
    const ts = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const res = await signInOn(a, 'alice@org1.example.com');
      ts.push(performance.now() - t0);
      assert.equal(res.r.stage, 'app', describeHops(res.r.hops));
    }
    return ts;
  });
  const log = a.errorLog(mark);
  // each sign-in is the next change of the log and moves the replica's
  // position with it: the next one finds the replica current and is not
  // computed again (at most the first, when the replicator was paused
  // before it applied an earlier test's last change)
  assert.ok([...log.matchAll(/ORGS00854: /g)].length <= 1, log);
  assert.doesNotMatch(log, /ORGS00853: /);
  report(t, `sign-ins on a node whose replicator is paused: ${times.map((x) => x.toFixed(0)).join(', ')} ms each`);
});

test('malformed session cookies sprayed at B spend no lookup budget: a fresh session from A is looked up right after', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const mark = b.logMark();
  const statuses = await paused(b, async () => {
    const { app, r } = await signInOn(a, 'alice@org1.example.com');
    assert.equal(r.stage, 'app', describeHops(r.hops));
    const malformed = (i) => [
      crypto.randomBytes(32).toString('base64'), // '+', '/' or '='
      crypto.randomBytes(31).toString('base64url'), // 42 characters
      crypto.randomBytes(33).toString('base64url'), // 44 characters
      `${'A'.repeat(42)}B`, // bits past the 256th
      "' OR 1=1 --",
    ][i % 5];
    const out = [];
    for (let i = 0; i < 60; i++) {
      const c = b.client();
      c.jar.set('orgs_org', 'org1');
      c.jar.set('orgs_sess_org1', malformed(i));
      out.push((await c.get('/app/', { headers: HTML })).status);
    }
    // at once: the budget of every child of B is still whole
    out.push((await b.client({ jar: app.jar }).get('/app/', { headers: HTML })).status);
    return out;
  });
  assert.ok(statuses.slice(0, 60).every((s) => s === 401), statuses.join(','));
  assert.equal(statuses[60], 200);
  const log = b.errorLog(mark);
  assert.doesNotMatch(log, /ORGS00849: /);
  assert.equal([...log.matchAll(/ORGS00850: a session made on another node was found in PostgreSQL/g)].length, 1);
});

// A TCP proxy to the database that can go silent: while frozen it accepts
// connections and data and forwards nothing, as a database (or a path to
// it) that stopped answering after taking the query.
async function silentProxy(port) {
  const state = { frozen: false, sockets: new Set() };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      state.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => { state.sockets.delete(s); client.destroy(); upstream.destroy(); });
    }
    client.on('data', (d) => { if (!state.frozen) upstream.write(d); });
    upstream.on('data', (d) => { if (!state.frozen) client.write(d); });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = server.address().port;
  state.close = () => {
    for (const s of state.sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return state;
}

test('a database that stops answering after taking the query: the sign-in answers 503 within the bound, and recovers', async (t) => {
  if (skip) return t.skip(skip);
  const c = silent;
  await store.startNodes([c]);
  // a sign-in opens this child's connections through the proxy
  const first = await signInOn(c, 'alice@org1.example.com');
  assert.equal(first.r.stage, 'app', describeHops(first.r.hops));
  const mark = c.logMark();
  proxy.frozen = true;
  let took;
  try {
    const t0 = performance.now();
    const res = await signInOn(c, 'alice@org1.example.com');
    took = performance.now() - t0;
    report(t, `a sign-in while the database is silent: ${res.last.status} after ${took.toFixed(0)} ms`);
    assert.equal(res.last.status, 503, describeHops(res.r.hops));
    assert.ok(took < 12000, `${took} ms`);
    await c.waitForLog(/ORGS00842: OrgsStore postgresql:\/\/\S+: PostgreSQL cannot be reached from this process/, { from: mark });
  } finally {
    proxy.frozen = false;
  }
  // answering again: sign-ins work again with no restart
  await until(async () => (await signInOn(c, 'alice@org1.example.com')).r.stage === 'app',
    { timeoutMs: 20000, stepMs: 500 });
});
