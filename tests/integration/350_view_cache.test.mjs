// Layer 350: the per-child cache of prepared session views never serves a
// revoked session. Keep-alive connections are pinned to one httpd child
// each; connections are opened until every worker child holds a warm
// cache entry (served from the cache, as orgs-status counts); then orgctl
// (another process) removes the member, or a role: the next request on
// every connection, in every child, is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import { Httpd, DEFAULT_SERVER_ORGS } from './lib/httpd.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';
import { run } from './lib/proc.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const MAX_CONNECTIONS = 48;

let op;
let h;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await op.mode('good', { fromLoginHint: true });
  h = await Httpd.create({
    name: 'viewcache',
    serverOrgs: DEFAULT_SERVER_ORGS,
    body: `LogFormat "%P %{X-Probe}i %>s" probe
CustomLog {{LOGS}}/probe_log probe
KeepAliveTimeout 60
MaxKeepAliveRequests 0
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /admin/>
    AuthType orgs
    AuthzSendForbiddenOnFailure On
    Require org-role admin
</Location>
<Location /orgs-status>
    SetHandler orgs-status
</Location>`,
  });
  h.file('htdocs/app/index.html', 'protected page\n');
  h.file('htdocs/admin/index.html', 'admin page\n');
  await seedAcme(h, op, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await h.start();
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

// A complete sign-in at the rogue OP; the Cookie header of the session.
async function signIn(email) {
  const c = h.client({ headers: { accept: 'text/html' } });
  const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
  assert.equal(start.status, 302, start.body);
  const auth = await fetch(start.location, { redirect: 'manual' });
  const cb = await c.get(auth.headers.get('location'));
  assert.equal(cb.status, 302, cb.body);
  const cookie = c.jar.header(h.url('/app/'));
  assert.match(cookie, /orgs_sess_acme=/);
  return cookie;
}

// One keep-alive connection (an agent with one socket): every request on
// it reaches the same child.
function connection() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let sockets = 0;
  const get = (path, cookie, probe) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        h.url(path),
        { agent, headers: { cookie, 'x-probe': probe, accept: 'text/html' }, timeout: 15000 },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('socket', (s) => {
        if (!s.orgsSeen) {
          s.orgsSeen = true;
          sockets++;
        }
      });
      req.on('timeout', () => req.destroy(new Error(`timeout ${path}`)));
      req.on('error', reject);
      req.end();
    });
  return { agent, get, sockets: () => sockets };
}

// probe -> the child's pid, from the probe log (written when a request ends).
function probes() {
  const m = new Map();
  let text = '';
  try {
    text = fs.readFileSync(join(h.logs, 'probe_log'), 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    const [pid, probe] = line.split(' ');
    if (probe && probe !== '-') m.set(probe, Number(pid));
  }
  return m;
}

async function pidOf(probe) {
  for (let i = 0; i < 100; i++) {
    const pid = probes().get(probe);
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no probe log line for ${probe}`);
}

// httpd's worker children (threaded); the cgid daemon, also a child, has
// one thread.
async function workerChildren() {
  const r = await run('ps', ['-o', 'pid=,nlwp=', '--ppid', String(h.pid)]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter(([, nlwp]) => nlwp > 1)
    .map(([pid]) => pid)
    .sort();
}

async function viewCounters() {
  const r = await h.client().get('/orgs-status?format=prometheus');
  assert.equal(r.status, 200);
  const n = (source) => Number(r.body.match(new RegExp(`^orgs_session_views_total\\{source="${source}"\\} (\\d+)$`, 'm'))[1]);
  return { cache: n('cache'), store: n('store') };
}

// Opens connections and warms each with three requests to path (all must
// answer 200) until every worker child holds at least one of them; the
// connections with their child's pid.
async function warmEveryChild(tag, path, cookie) {
  const children = await workerChildren();
  assert.ok(children.length >= 2, `worker children: ${children}`);
  const conns = [];
  const covered = new Set();
  for (let i = 0; i < MAX_CONNECTIONS && covered.size < children.length; i++) {
    const c = connection();
    for (let j = 0; j < 3; j++) {
      const r = await c.get(path, cookie, `${tag}-${i}-${j}`);
      assert.equal(r.status, 200, `${tag} connection ${i} request ${j}: ${r.status}`);
    }
    c.pid = await pidOf(`${tag}-${i}-0`);
    assert.equal(await pidOf(`${tag}-${i}-2`), c.pid, 'a keep-alive connection moved');
    assert.equal(c.sockets(), 1, 'the connection was not kept alive');
    covered.add(c.pid);
    conns.push(c);
  }
  assert.deepEqual([...covered].sort(), children, `children ${children} not all reached`);
  return conns;
}

test('a member removed by orgctl while every child has the session cached: the next request is refused in every child', async () => {
  const cookie = await signIn('alice@acme.example');
  const before0 = await viewCounters();
  const conns = await warmEveryChild('member', '/app/', cookie);
  const warm = await viewCounters();
  // the second and third request of each connection were served from its
  // child's cache
  assert.ok(warm.cache - before0.cache >= conns.length * 2,
    `cache hits ${warm.cache - before0.cache} for ${conns.length} connections`);

  const mark = h.logMark();
  await h.orgctlOk('member', 'remove', 'acme', '--connection', 'rogue', '--email', 'alice@acme.example');
  for (const [i, c] of conns.entries()) {
    const r = await c.get('/app/', cookie, `member-${i}-after`);
    assert.equal(r.status, 302, `connection ${i} (child ${c.pid}) still served the removed member`);
    assert.equal(await pidOf(`member-${i}-after`), c.pid, 'a keep-alive connection moved');
  }
  const log = h.errorLog(mark);
  assert.match(log, /ORGS00101: session for org acme no longer valid: ended, or membership or org removed/);
  const done = await viewCounters();
  assert.equal(done.cache, warm.cache, 'a request after the removal was served from the cache');
  assert.ok(done.store >= warm.store + conns.length, JSON.stringify({ warm, done }));
  for (const c of conns) c.agent.destroy();
});

test('a role removed by orgctl while every child has the session cached: Require org-role refuses in every child', async () => {
  const cookie = await signIn('bob@acme.example');
  await h.orgctlOk('role', 'add', 'acme', '--connection', 'rogue', '--email', 'bob@acme.example', 'admin');
  const conns = await warmEveryChild('role', '/admin/', cookie);

  const mark = h.logMark();
  const before0 = await viewCounters();
  await h.orgctlOk('role', 'remove', 'acme', '--connection', 'rogue', '--email', 'bob@acme.example', 'admin');
  for (const [i, c] of conns.entries()) {
    const r = await c.get('/admin/', cookie, `role-${i}-after`);
    assert.equal(r.status, 403, `connection ${i} (child ${c.pid}) still saw the removed role`);
    assert.equal(await pidOf(`role-${i}-after`), c.pid, 'a keep-alive connection moved');
    // still a member: /app/ stays open, read afresh once per child, then cached
    assert.equal((await c.get('/app/', cookie, `role-${i}-app`)).status, 200);
  }
  assert.match(h.errorLog(mark), /ORGS00401: authorization denied for 'bob@acme.example': none of the required roles/);
  // the first request on each connection after the change was read from
  // the store; the /app/ request after it, from the cache again
  const after0 = await viewCounters();
  const children = new Set(conns.map((c) => c.pid)).size;
  assert.ok(after0.store - before0.store >= children, JSON.stringify({ before0, after0, children }));
  assert.ok(after0.cache - before0.cache >= conns.length, JSON.stringify({ before0, after0 }));
  for (const c of conns) c.agent.destroy();
});
