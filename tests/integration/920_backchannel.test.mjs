// Layer 920: the back channel to tenants' IdPs. One org's IdP that hangs
// must not slow a static page or another org's login (single flight per
// issuer, fail fast, a cap per connection); a discovery document may not
// point the module's own calls at another origin (SSRF); a dead IdP does
// not flood the error log (one line per issuer and interval).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';
import { sleep } from './lib/proc.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', 'sec-fetch-site': 'same-origin' };

const ops = {};
let h;

// One more org `name` with the connection `name-idp` at op.
async function seedOrg(server, op, name) {
  const secretFile = server.file(`conf/${name}.secret`, `${CLIENT_SECRET}\n`, 0o600);
  await server.orgctlOk('org', 'create', name);
  await server.orgctlOk('conn', 'create', `${name}-idp`, '--issuer', op.issuer, '--client-id',
    CLIENT_ID, '--client-secret-file', secretFile);
  await server.orgctlOk('org', 'enable-conn', name, `${name}-idp`, '--auto-membership');
}

before(async () => {
  for (const name of ['acme', 'beta', 'gamma', 'delta']) {
    ops[name] = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  }
  h = await Httpd.create({
    name: 'backchannel',
    serverOrgs: `${DEFAULT_SERVER_ORGS}\nOrgsBackchannelConnectTimeout 2s\nOrgsBackchannelTimeout 8s\nOrgsBackchannelMaxConcurrent 4`,
    body: `<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.file('htdocs/static.html', 'static page\n');
  h.file('htdocs/app/index.html', 'protected page\n');
  await seedAcme(h, ops.acme, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  for (const name of ['beta', 'gamma', 'delta']) await seedOrg(h, ops[name], name);
  await h.start();
});

after(async () => {
  try {
    await h?.close();
  } finally {
    for (const op of Object.values(ops)) await op?.stop();
  }
});

// One GET on a fresh connection (no keep-alive: every attacker is a new
// client); resolves with { status, ms }, never rejects.
function timedGet(path, headers = HTML, timeoutMs = 30000) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(h.url(path), { headers, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
  });
}

// The other org's metadata cached before measuring (concurrent first
// logins of an org get 503 while one of them fetches it).
async function warmUp() {
  for (let i = 0; i < 20; i++) {
    if ((await timedGet('/orgs/login?organization=beta&return_to=%2Fapp%2F')).status === 302) break;
    await sleep(250);
  }
  await probe(500);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// Median latency over a time window: every `everyMs` a request for the
// static page and one for another org's login start (302 to its IdP) are
// sent, without waiting for the earlier ones, so that a server whose
// workers are all held shows it in most samples, not in one.
async function probe(windowMs, everyMs = 100) {
  const stat = [];
  const login = [];
  const end = performance.now() + windowMs;
  while (performance.now() < end) {
    stat.push(timedGet('/static.html'));
    login.push(timedGet('/orgs/login?organization=beta&return_to=%2Fapp%2F'));
    await sleep(everyMs);
  }
  const s = await Promise.all(stat);
  const l = await Promise.all(login);
  for (const r of s) assert.equal(r.status, 200);
  for (const r of l) assert.equal(r.status, 302);
  return {
    stat: median(s.map((r) => r.ms)),
    login: median(l.map((r) => r.ms)),
    statMax: Math.max(...s.map((r) => r.ms)),
  };
}

test('one org\'s hanging IdP: a static page and another org\'s login keep their latency', async (t) => {
  // warm up: the other org's metadata is cached, the children are up
  await warmUp();
  const base = await probe(2000);

  await ops.acme.mode('good', { hang: ['discovery'] }); // accepts, never answers
  const mark = h.logMark();
  const burst = [];
  for (let i = 0; i < 60; i++) burst.push(timedGet('/orgs/login?organization=acme&return_to=%2Fapp%2F'));
  const during = await probe(3000);
  const results = await Promise.all(burst);
  const counts = await ops.acme.counts();
  await ops.acme.mode('good');

  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const fast = results.filter((r) => r.ms < 2500).length;
  t.diagnostic(`baseline: static ${base.stat.toFixed(1)} ms, other org's login ${base.login.toFixed(1)} ms`);
  t.diagnostic(`while the IdP hangs: static ${during.stat.toFixed(1)} ms (max ${during.statMax.toFixed(1)}), `
    + `other org's login ${during.login.toFixed(1)} ms`);
  t.diagnostic(`60 logins of the hanging org: ${JSON.stringify(statuses)}, ${fast} answered within 2.5 s, `
    + `discovery requests at its IdP: ${counts.discovery}`);

  // within 2x of the baseline (plus a few ms of timer noise on a loaded machine)
  assert.ok(during.stat <= 2 * base.stat + 10, `static page ${during.stat} ms vs baseline ${base.stat} ms`);
  assert.ok(during.login <= 2 * base.login + 10, `other org's login ${during.login} ms vs baseline ${base.login} ms`);
  // the hanging org's logins fail fast with 503, except the one that fetches
  for (const r of results) assert.ok([502, 503].includes(r.status), `status ${r.status}`);
  assert.ok(fast >= 55, `${fast} of 60 answered quickly`);
  assert.ok((statuses[503] ?? 0) >= 55, JSON.stringify(statuses));
  // one fetch for the issuer, whatever the number of children and threads
  assert.ok(counts.discovery >= 1 && counts.discovery <= 2, `discovery fetched ${counts.discovery} times`);
  // the waiting requests say so at debug level; the fetching one logs the outcome
  await h.waitForLog(/ORGS00585: connection rogue: identity provider metadata being fetched by another request: discovery: another (request|process) is fetching it/, { from: mark });
  await h.waitForLog(/ORGS00204: connection rogue: identity provider metadata unavailable: discovery: timeout/, { from: mark, timeoutMs: 15000 });
});

test('a token endpoint answering after 9 s: other traffic keeps its latency, calls per child are capped', async (t) => {
  const op = ops.acme;
  await op.mode('good');
  // the org's metadata may still be backing off after the previous test
  let start;
  for (let i = 0; i < 40; i++) {
    start = await h.client({ headers: HTML }).get('/orgs/login?organization=acme&return_to=%2Fapp%2F');
    if (start.status === 302) break;
    await sleep(500);
  }
  assert.equal(start.status, 302, start.body.slice(0, 300));
  // 40 browsers back from the IdP's authorize step, each with its callback
  const cbs = [];
  for (let i = 0; i < 40; i++) {
    const c = h.client({ headers: HTML, timeoutMs: 30000 });
    let s = await c.get('/orgs/login?organization=acme&return_to=%2Fapp%2F');
    if (s.status === 302 && s.location.includes('/orgs/login?')) {
      // many starts from one address: a new browser first shows it keeps
      // the cookie (one redirect to the same login)
      s = await c.get(s.location);
    }
    assert.equal(s.status, 302);
    assert.ok(s.location.startsWith(op.issuer), s.location);
    const auth = await fetch(s.location, { redirect: 'manual' });
    cbs.push({ c, url: auth.headers.get('location') });
  }
  await warmUp();
  const base = await probe(2000);

  await op.mode('good', { hang: ['token'], delayMs: 9000 });
  const mark = h.logMark();
  const t0 = performance.now();
  const burst = cbs.map(({ c, url }) => c.get(url)
    .then((r) => ({ status: r.status, ms: performance.now() - t0 }))
    .catch(() => ({ status: 0, ms: performance.now() - t0 })));
  const during = await probe(3000);
  const results = await Promise.all(burst);
  const counts = await op.counts();
  await op.mode('good');

  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  t.diagnostic(`baseline: static ${base.stat.toFixed(1)} ms, other org's login ${base.login.toFixed(1)} ms`);
  t.diagnostic(`while the token endpoint takes 9 s: static ${during.stat.toFixed(1)} ms, `
    + `other org's login ${during.login.toFixed(1)} ms; 40 callbacks: ${JSON.stringify(statuses)}`);
  assert.ok(during.stat <= 2 * base.stat + 10, `static page ${during.stat} ms vs baseline ${base.stat} ms`);
  assert.ok(during.login <= 2 * base.login + 10, `other org's login ${during.login} ms vs baseline ${base.login} ms`);
  // 503 at the cap; the others reach the token endpoint, which answers after
  // OrgsBackchannelTimeout (8 s): 502
  for (const r of results) assert.ok([302, 502, 503].includes(r.status), `status ${r.status}`);
  // at most OrgsBackchannelMaxConcurrent (4) calls per child (at most 4 children)
  const called = results.filter((r) => r.status !== 503).length;
  assert.ok(called <= 16, `${called} callbacks reached the token endpoint`);
  assert.ok((statuses[503] ?? 0) >= 24, JSON.stringify(statuses));
  await h.waitForLog(/ORGS00583: callback: connection rogue: token endpoint not called: token endpoint: \d+ calls to this identity provider already in flight/, { from: mark });
  assert.ok(counts.token <= 16 + 1, `token endpoint asked ${counts.token} times`);
});

test('a discovery document pointing jwks_uri at another loopback origin: 502, ORGS00581, no call', async () => {
  const gamma = ops.gamma;
  await gamma.mode('good', { jwksUri: `${ops.beta.issuer}/jwks` }); // same host, other port
  const before = await ops.beta.counts();
  const mark = h.logMark();
  const c = h.client({ headers: HTML });
  const res = await c.get('/orgs/login?organization=gamma&return_to=%2Fapp%2F');
  assert.equal(res.status, 502, res.body.slice(0, 300));
  assert.match(res.body, /temporarily_unavailable|cannot be reached/);
  await h.waitForLog(new RegExp(`ORGS00581: connection gamma-idp: back-channel endpoint refused: discovery document refused: jwks_uri ${ops.beta.issuer.replace(/[.]/g, '\\.')}`), { from: mark });
  const afterCounts = await ops.beta.counts();
  assert.equal(afterCounts.jwks, before.jwks, 'the refused jwks_uri was called');
  assert.doesNotMatch(h.errorLog(mark), /ORGS00206: login to org gamma/);

  await gamma.mode('good');
});

test('a dead IdP: retrying clients get 502/503 and one log line per issuer and interval', async (t) => {
  const delta = ops.delta;
  await delta.stop(); // connection refused from now on
  const mark = h.logMark();
  const stop = Date.now() + 6000;
  let requests = 0;
  const statuses = {};
  const client = async () => {
    while (Date.now() < stop) {
      const r = await timedGet('/orgs/login?organization=delta&return_to=%2Fapp%2F');
      requests += 1;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  await sleep(300);
  const lines = h.errorLog(mark).split('\n').filter((l) => /connection delta-idp/.test(l));
  const errorLines = lines.filter((l) => /ORGS00204|ORGS00580|ORGS00581/.test(l));
  t.diagnostic(`${requests} logins in 6 s against a dead IdP (${JSON.stringify(statuses)}): `
    + `${errorLines.length} log lines (${Math.round(errorLines.length * 10)} per minute)`);
  assert.ok(requests >= 50, `only ${requests} requests`);
  for (const s of Object.keys(statuses)) assert.ok(['502', '503'].includes(s), `status ${s}`);
  // one line in a 30 s interval for the whole server (the gate is shared
  // by the children), however many requests
  assert.equal(errorLines.length, 1, `${errorLines.length} lines:\n${errorLines.join('\n')}`);
  // the cause is in them: the failed call itself, or the backoff quoting it
  assert.match(errorLines.join('\n'), /discovery: request failed: .*(Couldn't connect|Connection refused)/);
});

// ---- the directives: a bad value stops httpd at configuration time -----------

const BAD_DIRECTIVES = [
  ['OrgsBackchannelConnectTimeout', 'OrgsBackchannelConnectTimeout 0'],
  ['OrgsBackchannelConnectTimeout', 'OrgsBackchannelConnectTimeout 5x'],
  ['OrgsBackchannelTimeout', 'OrgsBackchannelTimeout 10m'],
  ['OrgsBackchannelTimeout', 'OrgsBackchannelTimeout -1'],
  ['OrgsBackchannelMaxConcurrent', 'OrgsBackchannelMaxConcurrent 0'],
  ['OrgsBackchannelMaxConcurrent', 'OrgsBackchannelMaxConcurrent many'],
  ['OrgsBackchannelAllowHost', 'OrgsBackchannelAllowHost https://keys.example.com'],
  ['OrgsBackchannelAllowHost', 'OrgsBackchannelAllowHost keys.example.com/jwks'],
];

test('apache2 -t rejects bad Orgs Backchannel* values, naming the directive; accepts good ones', async () => {
  const c = await Httpd.create({ name: 'backchannel-config' });
  try {
    for (const [directive, line] of BAD_DIRECTIVES) {
      const r = await c.configtest('', `${DEFAULT_SERVER_ORGS}\n${line}`);
      assert.notEqual(r.code, 0, `accepted: ${line}`);
      assert.ok(r.stderr.includes(directive), `${line}: stderr does not name ${directive}:\n${r.stderr}`);
    }
    const ok = await c.configtest('', `${DEFAULT_SERVER_ORGS}
OrgsBackchannelConnectTimeout 2s
OrgsBackchannelTimeout 120s
OrgsBackchannelMaxConcurrent 16
OrgsBackchannelAllowHost keys.example.com 192.0.2.7 ::1
OrgsBackchannelAllowHost login.example.net`);
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await c.close();
  }
});
