// Layer 910: the IdP rotates its signing key. A token under an unknown kid
// makes the module fetch the JWKS again at once, so an abrupt switch costs
// no failed sign-in; such refreshes happen at most once per few seconds per
// provider (a stream of forged kids cannot make it hammer the IdP), and a
// key still unknown after the refresh is a temporary error (503), not a
// denial.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './lib/rogue.mjs';
import { sleep } from './lib/proc.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html' };
const REFRESH_INTERVAL_MS = 5_000; // ORGS_OIDC_JWKS_MIN_INTERVAL

let op;
let h;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await startAcmeServer(op, { name: 'rotation', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});

after(async () => {
  try {
    await h?.close();
  } finally {
    await op?.stop();
  }
});

async function login() {
  const c = h.client({ headers: HTML });
  const start = await c.get('/orgs/login?organization=acme&return_to=%2Fapp%2F');
  assert.equal(start.status, 302, start.body);
  const auth = await fetch(start.location, { redirect: 'manual' });
  assert.equal(auth.status, 302);
  const mark = h.logMark();
  const cb = await c.get(auth.headers.get('location'));
  return { cb, mark };
}

test('an abrupt key switch: the next login succeeds at once, with one JWKS refresh', async (t) => {
  const first = await login();
  assert.equal(first.cb.status, 302, first.cb.body);
  await h.waitForLog(/ORGS00229/, { from: first.mark });
  const before = await op.counts();

  const kid = await op.rotate();
  const switched = Date.now();
  const next = await login();
  const recovered = Date.now() - switched;
  assert.equal(next.cb.status, 302, `${next.cb.status} ${next.cb.body.slice(0, 300)}`);
  assert.equal(next.cb.rawLocation, '/app/');
  await h.waitForLog(/ORGS00229: user \S+ signed in to org acme via connection rogue/, { from: next.mark });
  assert.doesNotMatch(h.errorLog(next.mark), /ORGS00224|ORGS00582/);
  const afterSwitch = await op.counts();
  assert.equal(afterSwitch.jwks, before.jwks + 1, 'one JWKS refresh for the new kid');
  assert.ok(kid);
  t.diagnostic(`time to recover after an abrupt key switch: ${recovered} ms (one login)`);
});

test('forged kids: 503 with a retry page, at most one JWKS refresh per interval', async () => {
  await op.mode('unknown_kid');
  try {
    const before = await op.counts();
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const r = await login();
      assert.equal(r.cb.status, 503, r.cb.body.slice(0, 300));
      assert.match(r.cb.body, /temporarily_unavailable/);
      assert.equal(r.cb.headers['retry-after'], '5');
      await h.waitForLog(/ORGS00582: callback: connection rogue: ID token signed with a key not in the JWKS/, { from: r.mark });
      assert.doesNotMatch(h.errorLog(r.mark), /ORGS00229/);
    }
    const elapsed = Date.now() - started;
    const after1 = await op.counts();
    // one refresh for the first forged kid (the switch above was more than
    // an interval ago only if the test was slow: then one more at most)
    const allowed = 1 + Math.floor(elapsed / REFRESH_INTERVAL_MS);
    assert.ok(after1.jwks - before.jwks <= allowed, `${after1.jwks - before.jwks} refreshes in ${elapsed} ms`);
  } finally {
    await op.mode('good');
  }
  // the real key still works once the forgeries stop
  await sleep(200);
  const ok = await login();
  assert.equal(ok.cb.status, 302, ok.cb.body.slice(0, 300));
});
