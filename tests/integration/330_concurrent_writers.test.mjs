// Layer 330: several processes write the same store at once — two orgctl
// loops and httpd's children signing users in (each login writes a pending
// login, a user, a membership and a session) — and nothing is lost: every
// org and every membership is there afterwards, and `orgctl check` finds
// every index consistent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './lib/rogue.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html' };
const LOGINS = 24;
const ORGS_PER_LOOP = 25;

let op;
let h;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await startAcmeServer(op, { name: 'concurrent', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

// One complete login of a distinct user through the rogue OP.
async function loginAs(i) {
  // one connection per request: a busy event MPM closes idle keep-alive
  // connections, and a client reusing one at that instant sees a reset
  // (browsers retry those; this scripted client does not)
  const c = h.client({ headers: { ...HTML, connection: 'close' } });
  const email = `user${i}@concurrent.example`;
  const start = await c.get(`/orgs/login?organization=acme&login_hint=${encodeURIComponent(email)}&return_to=%2Fapp%2F`);
  assert.equal(start.status, 302, start.body);
  const auth = await fetch(start.location, { redirect: 'manual' });
  assert.equal(auth.status, 302);
  const cb = await c.get(auth.headers.get('location'));
  assert.equal(cb.status, 302, `login ${i}: ${cb.status} ${cb.body.slice(0, 200)}`);
  const app = await c.get('/app/');
  assert.equal(app.status, 200, `login ${i}: /app/ ${app.status}`);
}

async function orgLoop(prefix) {
  for (let i = 0; i < ORGS_PER_LOOP; i++) {
    await h.orgctlOk('org', 'create', `${prefix}-${i}`, '--meta', `n=${i}`);
  }
}

test('two orgctl loops and concurrent logins lose nothing', async () => {
  // each login its own user: the OP takes sub and email from login_hint
  await op.mode('good', { fromLoginHint: true });
  // one login first: the provider's metadata and keys are then cached, as on
  // a running site (a burst of first logins on a cold cache may get 503
  // while one request fetches them: the back channel's single flight)
  await loginAs('warm');
  const logins = [];
  for (let i = 0; i < LOGINS; i++) logins.push(loginAs(i));
  await Promise.all([orgLoop('loop-a'), orgLoop('loop-b'), ...logins]);

  const orgs = JSON.parse(await h.orgctlOk('--json', 'org', 'list'));
  for (const p of ['loop-a', 'loop-b']) {
    for (let i = 0; i < ORGS_PER_LOOP; i++) {
      assert.ok(orgs.some((o) => o.name === `${p}-${i}`), `${p}-${i} missing`);
    }
  }
  const members = JSON.parse(await h.orgctlOk('--json', 'member', 'list', 'acme'));
  for (let i = 0; i < LOGINS; i++) {
    assert.ok(members.some((m) => m.email === `user${i}@concurrent.example`), `user${i} not a member`);
  }
  // check verifies the key first (orgctl() passes httpd's key file)
  const check = (await h.orgctlOk('check')).split('\n');
  assert.equal(check.at(-1), 'store consistent', check.join('\n'));
  assert.match(check[0], /^key: matches/);
  assert.doesNotMatch(h.errorLog(), /ORGS002(05|27|28)|\[(emerg|alert|crit)\]/);
});
