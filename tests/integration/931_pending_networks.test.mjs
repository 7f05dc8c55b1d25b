// Layer 900: logins in progress bounded per client network. A client is an
// IPv4 address or an IPv6 /64, and an attacker with one IPv6 /48 has 65,536
// of them: per-client bounds alone let one network fill the pending-login
// table, and the full table used to drop the oldest login of all, another
// org's user's. Now a network (IPv4 /24, IPv6 /48) holds at most
// OrgsMaxPendingPerNetwork logins, and a full table drops the fullest
// network's oldest. On loopback the networks are 127.0.0.0/24 (the victim)
// and 127.0.9.0/24 (the attacker's many addresses).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { Rogue, seedAcme } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html', 'sec-fetch-site': 'same-origin' };
const START = '/orgs/login?organization=acme&return_to=%2Fapp%2F';

let rogue; // acme's IdP (the attacker starts logins there)
let good; // other's IdP (the victim's org)
const servers = [];

async function server(name, extra) {
  const h = await Httpd.create({
    name,
    // 8 MiB maps 341 logins in progress (a quarter of the map, 6 KiB each)
    serverOrgs: DEFAULT_SERVER_ORGS.replace('OrgsStoreMaxSize 64M', 'OrgsStoreMaxSize 8M') + `\n${extra}`,
    body: `<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.file('htdocs/app/index.html', 'protected page\n');
  await seedAcme(h, rogue, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const secret = h.file('conf/good.secret', `${CLIENT_SECRET}\n`, 0o600);
  await h.orgctlOk('org', 'create', 'other');
  await h.orgctlOk('conn', 'create', 'goodidp', '--issuer', good.issuer, '--client-id', CLIENT_ID,
    '--client-secret-file', secret);
  await h.orgctlOk('org', 'enable-conn', 'other', 'goodidp', '--auto-membership');
  await h.start();
  servers.push(h);
  return h;
}

before(async () => {
  rogue = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  good = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  await good.mode('good', { sub: 'olivia', email: 'olivia@other.example.com' });
});

after(async () => {
  for (const h of servers) await h.close().catch(() => {});
  await rogue?.stop();
  await good?.stop();
});

function rawGet(agent, h, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.request(h.url(path), {
      agent,
      headers: { ...HTML, ...(cookie ? { cookie } : {}) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({
        status: res.statusCode,
        location: res.headers.location ?? '',
        setCookies: res.headers['set-cookie'] ?? [],
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// n login starts for acme from each of the addresses, each start with a
// fresh browser cookie of ours (handed out by a cookieless start just
// before: cookies cost an attacker nothing). Counts where they went.
async function flood(h, addresses, n) {
  const seen = { idp: 0, other: 0 };
  await Promise.all(addresses.map(async (address) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2, localAddress: address });
    try {
      for (let i = 0; i < n; i++) {
        const first = await rawGet(agent, h, START);
        const c = first.setCookies.find((x) => /orgs_browser=/.test(x));
        const r = await rawGet(agent, h, START, c ? c.split(';')[0] : undefined);
        if (r.status === 302 && r.location.startsWith(rogue.issuer)) seen.idp++;
        else seen.other++;
      }
    } finally {
      agent.destroy();
    }
  }));
  return seen;
}

// The victim (127.0.0.1) starts other's login before the flood and
// finishes it after: its login in progress must have survived.
async function victimStarts(h) {
  await rogue.mode('good');
  const warm = await h.client({ headers: HTML }).get(START); // acme's metadata cached
  assert.equal(warm.status, 302);
  const victim = h.client({ headers: HTML });
  const start = await victim.get('/orgs/login?organization=other&return_to=%2Fapp%2F');
  assert.equal(start.status, 302);
  assert.ok(start.location.startsWith(good.issuer), start.location);
  return { victim, start };
}

async function victimFinishes({ victim, start }) {
  const op = await victim.get(start.location);
  const cb = await victim.get(op.location);
  assert.equal(cb.status, 302, `victim's callback: ${cb.status} ${cb.body.slice(0, 200)}`);
  assert.equal(new URL(cb.location).pathname, '/app/');
}

const ATTACKERS = Array.from({ length: 6 }, (_, i) => `127.0.9.${i + 1}`);

test("a network filling the whole table displaces only its own logins, not another org's", async () => {
  // no per-network bound: the full table's eviction alone must protect
  const h = await server('pending-net-full', 'OrgsMaxPendingPerNetwork 0\nOrgsLoginState store');
  const v = await victimStarts(h);
  const mark = h.logMark();
  // 6 clients x 80 = 480 starts > the table's 341
  const seen = await flood(h, ATTACKERS, 80);
  assert.equal(seen.idp, 480, JSON.stringify(seen));
  assert.match(h.errorLog(mark), /ORGS00524: .*client 127\.0\.9\.\d+ .*fullest network/);
  await victimFinishes(v);
});

test('one network holds at most OrgsMaxPendingPerNetwork logins in progress', async () => {
  const h = await server('pending-net-bound', 'OrgsMaxPendingPerNetwork 40\nOrgsLoginState store');
  const v = await victimStarts(h);
  const mark = h.logMark();
  const seen = await flood(h, ATTACKERS, 20); // 120 starts, 20 per client (under its 100)
  assert.equal(seen.idp, 120, JSON.stringify(seen));
  const dropped = [...h.errorLog(mark).matchAll(/ORGS00524: login: (\d+) sign-ins in progress were dropped/g)]
    .reduce((n, m) => n + Number(m[1]), 0);
  // the network kept 40 at most (a few cookieless harvest starts count too)
  assert.ok(dropped >= 80, `only ${dropped} of the network's logins were dropped`);
  await victimFinishes(v);
});

test('OrgsMaxPendingPerNetwork refuses a bad value at configuration time', async () => {
  const h = await Httpd.create({ name: 'pending-net-config' });
  for (const bad of ['-1', 'lots', '1e3']) {
    const r = await h.configtest('', `${DEFAULT_SERVER_ORGS}\nOrgsMaxPendingPerNetwork ${bad}`);
    assert.notEqual(r.code, 0, `${bad} accepted`);
    assert.match(r.stderr + r.stdout, /OrgsMaxPendingPerNetwork: must be a whole number/);
  }
  await h.close();
});
