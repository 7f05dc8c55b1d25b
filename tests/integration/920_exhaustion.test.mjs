// Layer 900: exhaustion of shared resources by one tenant or by anonymous
// clients. A hostile OP (tests/idp/rogue.mjs, mode "mint": a new subject
// and a ~15 KB padded ID token on every login) is org acme's connection; a
// well-behaved OP is org other's. Each attack must leave other's sign-in
// working, and stop where the directive says, with the status and the log
// tag of docs/security.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { MODULE_SO } from './lib/paths.mjs';
import { sleep } from './lib/proc.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { Accept: 'text/html', 'sec-fetch-site': 'same-origin' };
const FLOOD = Number(process.env.EXHAUSTION_FLOOD || 20000);

let rogue; // acme's IdP: hostile
let good; // other's IdP
const servers = [];

const BODY = `<Location /app/>
    AuthType orgs
    Require org-member
</Location>`;

// acme (rogue, auto-membership), other (good, auto-membership) and closed
// (rogue, no auto-membership: its sign-ins are refused but create users).
async function server(name, extra = '') {
  const h = await Httpd.create({ name, serverOrgs: `${DEFAULT_SERVER_ORGS}\n${extra}`, body: BODY });
  h.file('htdocs/app/index.html', 'protected page\n');
  await seedAcme(h, rogue, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const secret = h.file('conf/good.secret', `${CLIENT_SECRET}\n`, 0o600);
  await h.orgctlOk('org', 'create', 'other');
  await h.orgctlOk('conn', 'create', 'goodidp', '--issuer', good.issuer, '--client-id', CLIENT_ID,
    '--client-secret-file', secret);
  await h.orgctlOk('org', 'enable-conn', 'other', 'goodidp', '--auto-membership');
  await h.orgctlOk('org', 'create', 'closed');
  await h.orgctlOk('org', 'enable-conn', 'closed', 'rogue');
  await h.start();
  servers.push(h);
  return h;
}

before(async () => {
  assert.ok(fs.existsSync(MODULE_SO), `module not built: ${MODULE_SO} (set BUILD_DIR)`);
  rogue = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  good = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await good.mode('good', { sub: 'olivia', email: 'olivia@other.example.com' });
});

after(async () => {
  for (const h of servers) await h.close().catch(() => {});
  await rogue?.stop();
  await good?.stop();
});

// One whole login of org through a fresh browser (or the one given): the
// login start (and the one cookie self-redirect, if asked), the OP, the
// callback. Returns the callback's response (or the last one when the flow
// stopped before).
async function login(h, org, c = h.client({ headers: HTML })) {
  let res = await c.get(`/orgs/login?organization=${org}&return_to=%2Fapp%2F`);
  for (let i = 0; i < 3 && res.status === 302 && new URL(res.location).pathname === '/orgs/login'; i++) {
    res = await c.get(res.location);
  }
  if (res.status !== 302 || new URL(res.location).pathname !== '/authorize') return { res, c };
  const op = await c.get(res.location);
  assert.equal(op.status, 302, `OP authorize: ${op.status} ${op.body}`);
  return { res: await c.get(op.location), c };
}

// other's member signs in and reads the protected page.
async function assertOtherSignsIn(h) {
  const { res, c } = await login(h, 'other');
  assert.equal(res.status, 302, `other's sign-in: ${res.status} ${res.body.slice(0, 300)}`);
  assert.equal(new URL(res.location).pathname, '/app/');
  const app = await c.get('/app/');
  assert.equal(app.status, 200, `other's /app/: ${app.status}`);
  assert.match(app.body, /protected page/);
}

async function usersOf(h, conn) {
  const all = JSON.parse(await h.orgctlOk('--json', 'user', 'list'));
  return all.filter((u) => u.connection === conn).length;
}

test('a connection minting a subject per login is throttled (OrgsMaxNewUsersPerMinute 120 by default); other orgs still sign in', async () => {
  const h = await server('exhaust-throttle');
  await rogue.mode('mint', { padBytes: 10500 });
  const mark = h.logMark();
  const t0 = Date.now();
  let ok = 0;
  let throttled = 0;
  for (let i = 0; i < 150; i++) {
    const { res } = await login(h, 'acme');
    if (res.status === 302 && new URL(res.location).pathname === '/app/') ok++;
    else {
      assert.equal(res.status, 503, `minting login ${i}: ${res.status} ${res.body.slice(0, 200)}`);
      assert.equal(res.headers['retry-after'], '60');
      throttled++;
    }
  }
  const secs = (Date.now() - t0) / 1000;
  await rogue.mode('good');
  assert.ok(throttled > 0, `150 minting logins in ${secs}s: none refused`);
  // one window of 60 s admits 120; a run longer than a minute may see two
  assert.ok(ok <= (secs < 60 ? 120 : 240), `${ok} new users admitted in ${secs}s`);
  await h.waitForLog(/ORGS00521: .*connection rogue creates new users too fast.*org acme/, { from: mark });
  assert.equal(await usersOf(h, 'rogue'), ok);
  await assertOtherSignsIn(h);
});

test('quotas per connection and per org stop a minting connection with 403 (ORGS00520); other orgs still sign in', async () => {
  const h = await server('exhaust-quota', `OrgsMaxUsersPerConnection 12
OrgsMaxUsersPerOrg 8
OrgsMaxSessionsPerOrg 20
OrgsMaxNewUsersPerMinute 0`);
  await rogue.mode('mint', { padBytes: 10500 });
  let mark = h.logMark();
  const outcome = [];
  for (let i = 0; i < 12; i++) outcome.push((await login(h, 'acme')).res.status);
  // 8 joined acme; the 9th user would make 9 members: refused, nothing written
  assert.deepEqual(outcome.slice(0, 8), Array(8).fill(302), outcome.join(' '));
  assert.deepEqual(outcome.slice(8), Array(4).fill(403), outcome.join(' '));
  await h.waitForLog(/ORGS00520: .*org acme via connection rogue.*the org's users \(8\)/, { from: mark });
  assert.equal(await usersOf(h, 'rogue'), 8);
  // the connection's users: closed admits nobody, yet its sign-ins create users
  mark = h.logMark();
  const closed = [];
  for (let i = 0; i < 6; i++) closed.push((await login(h, 'closed')).res.status);
  assert.deepEqual(closed, [403, 403, 403, 403, 403, 403]);
  assert.match(h.errorLog(mark), /ORGS00226: /); // not a member: 4 users created (8 + 4 = 12)
  await h.waitForLog(/ORGS00520: .*org closed via connection rogue.*the connection's users \(12\)/,
    { from: mark });
  assert.equal(await usersOf(h, 'rogue'), 12);
  await rogue.mode('good');
  await assertOtherSignsIn(h);
  // the users closed left behind (no membership) go with the purge
  await sleep(1100);
  const purged = await h.orgctlOk('user', 'purge', '--older-than', '1s');
  assert.equal(purged, '4');
  assert.equal(await usersOf(h, 'rogue'), 8);
});

test('refused sign-ins through a shared IdP fill only their own share of single-use marks (503, ORGS00260), an org\'s own sign-ins only its own (503, ORGS00259); other orgs still sign in', async () => {
  const h = await server('exhaust-marks', 'OrgsMaxSessionsPerOrg 5');
  await rogue.mode('good');
  // closed admits nobody: anyone with an account at rogue, which acme
  // enables too, can make refused sign-ins to it, each marking its login
  // used; the marks count against closed and the connection together,
  // never against an org's share
  let mark = h.logMark();
  const outcome = [];
  for (let i = 0; i < 7; i++) outcome.push((await login(h, 'closed')).res);
  assert.deepEqual(outcome.map((r) => r.status), [403, 403, 403, 403, 403, 503, 503],
    outcome.map((r) => `${r.status} ${r.body.slice(0, 80)}`).join(' | '));
  assert.equal(outcome[5].headers['retry-after'], '60');
  await h.waitForLog(/ORGS00260: callback: org closed refuses too many sign-ins through connection rogue .*not recorded: 5 sign-ins/,
    { from: mark });
  // acme's members, through the same IdP, are not held out by them
  const c = h.client({ headers: HTML });
  const first = (await login(h, 'acme', c)).res;
  assert.equal(first.status, 302, `acme's sign-in: ${first.status} ${first.body.slice(0, 200)}`);
  assert.equal(new URL(first.location).pathname, '/app/');
  // acme signing in again and again in one browser (one session, replaced
  // each time): only the marks refuse it, at acme's own bound
  mark = h.logMark();
  const again = [];
  for (let i = 0; i < 5; i++) again.push((await login(h, 'acme', c)).res);
  assert.deepEqual(again.map((r) => r.status), [302, 302, 302, 302, 503],
    again.map((r) => `${r.status} ${(r.body || '').slice(0, 80)}`).join(' | '));
  await h.waitForLog(/ORGS00259: .*org acme signs in too often.*connection rogue.*5 sign-ins/,
    { from: mark });
  // another IdP's org still signs in
  await assertOtherSignsIn(h);
});

// GET url from a given loopback source address, without cookies unless
// given; a kept-alive connection the server closed meanwhile is retried.
async function rawGet(agent, h, path, cookie) {
  for (let i = 0; ; i++) {
    try {
      return await rawGetOnce(agent, h, path, cookie);
    } catch (e) {
      if (i >= 3 || !/socket hang up|ECONNRESET/.test(e.message)) throw e;
    }
  }
}

function rawGetOnce(agent, h, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.request(h.url(path), {
      agent,
      headers: { accept: 'text/html', 'sec-fetch-site': 'same-origin', ...(cookie ? { cookie } : {}) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location ?? '',
        setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const browserCookie = (r) => r.setCookie.map((x) => x.split(';')[0]).find((x) => x.startsWith('orgs_browser='));

// n login starts for acme from address; harvest: each one with a new
// browser cookie of ours, taken from a cookieless start just before.
async function flood(h, n, { address, harvest = false, concurrency = 16 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, localAddress: address });
  const seen = { idp: 0, self: 0, other: 0, statuses: {} };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const path = '/orgs/login?organization=acme&return_to=%2Fapp%2F';
      const cookie = harvest ? browserCookie(await rawGet(agent, h, path)) : undefined;
      if (harvest) assert.ok(cookie, 'a cookieless start sets the browser cookie');
      const r = await rawGet(agent, h, path, cookie);
      seen.statuses[r.status] = (seen.statuses[r.status] ?? 0) + 1;
      if (r.status === 302 && r.location.startsWith(rogue.issuer)) seen.idp++;
      else if (r.status === 302 && r.location.includes('/orgs/login?')) seen.self++;
      else seen.other++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return seen;
}

// One login start for acme from the default address before a burst: the
// org's provider metadata is then cached, as on a running site (a burst of
// first logins on a cold cache may get 503 while one request fetches it:
// the back channel's single flight).
async function warmAcme(h) {
  const warm = await h.client({ headers: HTML }).get('/orgs/login?organization=acme&return_to=%2Fapp%2F');
  assert.equal(warm.status, 302, warm.body.slice(0, 200));
}

test(`${FLOOD} cookieless login starts from one address store nothing (OrgsLoginState store); other orgs still sign in`, async () => {
  const h = await server('exhaust-pending', 'OrgsLoginState store');
  await rogue.mode('good');
  await warmAcme(h);
  const mark = h.logMark();
  const t0 = Date.now();
  const seen = await flood(h, FLOOD, { address: '127.0.0.2' });
  const secs = (Date.now() - t0) / 1000;
  // none reaches the IdP: every one is asked for the cookie, with nothing
  // stored
  assert.equal(seen.idp, 0, `${seen.idp} of ${FLOOD} cookieless starts were stored (${secs}s): ${JSON.stringify(seen)}`);
  assert.equal(seen.self, FLOOD, JSON.stringify(seen));
  assert.match(h.errorLog(mark), /ORGS00529: /);
  // coming back without the cookie: refused, nothing stored
  const agent = new http.Agent({ keepAlive: false, localAddress: '127.0.0.2' });
  const back = await rawGet(agent, h, '/orgs/login?organization=acme&return_to=%2Fapp%2F&cookie_check=1');
  agent.destroy();
  assert.equal(back.status, 403);
  await h.waitForLog(/ORGS00530: login: the browser of client 127\.0\.0\.2 came back without the cookie/, { from: mark });
  await assertOtherSignsIn(h);
});

test('a client keeping cookies only displaces its own logins (ORGS00524, OrgsLoginState store); other orgs still sign in', async () => {
  // OrgsMaxPendingPerClient 100
  const h = await server('exhaust-pending-cookie', 'OrgsLoginState store');
  await rogue.mode('good');
  await warmAcme(h);
  // a victim behind another address starts its login first
  const victim = h.client({ headers: HTML });
  const start = await victim.get('/orgs/login?organization=other&return_to=%2Fapp%2F');
  assert.equal(start.status, 302);
  assert.ok(start.location.startsWith(good.issuer), start.location);
  const mark = h.logMark();
  // 300 starts, each with a fresh browser cookie of ours (every start hands
  // one out, so they are free): all reach the IdP, the client's oldest go
  const seen = await flood(h, 300, { address: '127.0.0.3', harvest: true, concurrency: 8 });
  assert.equal(seen.idp, 300, JSON.stringify(seen));
  assert.match(h.errorLog(mark), /ORGS00524: .*client 127\.0\.0\.3/);
  // the victim's login, started before the flood, still completes
  const op = await victim.get(start.location);
  const cb = await victim.get(op.location);
  assert.equal(cb.status, 302, `victim's callback: ${cb.status} ${cb.body.slice(0, 200)}`);
  assert.equal(new URL(cb.location).pathname, '/app/');
  await assertOtherSignsIn(h);
});

// The id of the store's last committed write transaction: the larger of
// the two LMDB meta pages' txnid (page header 16 bytes, then magic,
// version, address, map size, two 48-byte database records, last page:
// txnid at byte 144 of the page).
function storeTxnId(h) {
  const fd = fs.openSync(`${h.storeDir}/data.mdb`, 'r');
  try {
    const page = Buffer.alloc(160);
    let max = 0n;
    for (const at of [0, 4096]) {
      fs.readSync(fd, page, 0, page.length, at);
      assert.equal(page.readUInt32LE(16), 0xbeefc0de, 'an LMDB meta page');
      const id = page.readBigUInt64LE(144);
      if (id > max) max = id;
    }
    return max;
  } finally {
    fs.closeSync(fd);
  }
}

test(`${FLOOD} login starts kept in the browser's cookie (the default) write nothing to the store; other orgs still sign in`, async () => {
  const h = await server('exhaust-sealed');
  await rogue.mode('good');
  await warmAcme(h);
  const before = storeTxnId(h);
  const t0 = Date.now();
  const seen = await flood(h, FLOOD, { address: '127.0.0.2' });
  const secs = (Date.now() - t0) / 1000;
  // every one goes to the IdP at once, its state sealed in a cookie
  assert.equal(seen.idp, FLOOD, `${JSON.stringify(seen)} in ${secs}s`);
  // a few writes may come from elsewhere (a child started for the load
  // opening the store, the cache's bookkeeping); one per start would be
  // FLOOD, one per hundred starts 200
  const wrote = storeTxnId(h) - before;
  assert.ok(wrote <= 20n, `${wrote} write transactions during ${FLOOD} login starts in ${secs}s`);
  await assertOtherSignsIn(h);
});

test('the exhaustion directives refuse bad values at configuration time', async () => {
  const h = await Httpd.create({ name: 'exhaust-config', body: BODY });
  for (const [line, re] of [
    ['OrgsMaxUsersPerConnection -1', /OrgsMaxUsersPerConnection: must be a whole number/],
    ['OrgsMaxNewUsersPerMinute many', /OrgsMaxNewUsersPerMinute: must be a whole number/],
    ['OrgsMaxUsersPerOrg 1e6', /OrgsMaxUsersPerOrg: must be a whole number/],
    ['OrgsMaxSessionsPerOrg 10000000000', /OrgsMaxSessionsPerOrg: must be a whole number/],
    ['OrgsMaxPendingPerClient 12abc', /OrgsMaxPendingPerClient: must be a whole number/],
    ['OrgsUserPurgeAfter never', /OrgsUserPurgeAfter: /],
  ]) {
    const r = await h.configtest(BODY, `${DEFAULT_SERVER_ORGS}\n${line}`);
    assert.notEqual(r.code, 0, `${line} accepted`);
    assert.match(r.stderr + r.stdout, re);
  }
  const ok = await h.configtest(BODY, `${DEFAULT_SERVER_ORGS}
OrgsMaxUsersPerConnection 0
OrgsMaxNewUsersPerMinute 600
OrgsMaxUsersPerOrg 50000
OrgsMaxSessionsPerOrg 20000
OrgsMaxPendingPerClient 200
OrgsUserPurgeAfter off`);
  assert.equal(ok.code, 0, ok.stderr);
  await h.close();
});
