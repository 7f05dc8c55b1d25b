// Layer 910: the IdP rotates its signing key. A token under an unknown kid
// makes the module fetch the JWKS again, at most once a minute per provider
// (so a stream of forged kids cannot make it hammer the IdP), and the new
// key works without restarting httpd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { Rogue, startAcmeServer } from './lib/rogue.mjs';
import { sleep } from './lib/proc.mjs';

const CLIENT_ID = 'mod-auth-orgs-rogue';
const CLIENT_SECRET = `rogue-${crypto.randomBytes(18).toString('hex')}`;
const HTML = { accept: 'text/html' };
const REFRESH_INTERVAL_MS = 60_000; // ORGS_OIDC_JWKS_MIN_INTERVAL

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

test('a rotated key is picked up without restart, at most one JWKS refresh a minute', async () => {
  const first = await login();
  const fetchedAt = Date.now(); // the JWKS was fetched for this login
  assert.equal(first.cb.status, 302, first.cb.body);
  await h.waitForLog(/ORGS00229/, { from: first.mark });

  const kid = await op.rotate();
  // within the minute the unknown kid is refused: no refresh yet
  const early = await login();
  assert.equal(early.cb.status, 403, early.cb.body);
  await h.waitForLog(/ORGS00224: callback: connection rogue: ID token rejected: kid/, { from: early.mark });
  assert.doesNotMatch(h.errorLog(early.mark), /ORGS00229/);

  // a minute after the last fetch, the unknown kid triggers one refresh
  await sleep(Math.max(0, fetchedAt + REFRESH_INTERVAL_MS + 1500 - Date.now()));
  const late = await login();
  assert.equal(late.cb.status, 302, `${late.cb.status} ${late.cb.body}`);
  assert.equal(late.cb.rawLocation, '/app/');
  await h.waitForLog(/ORGS00229: user \S+ signed in to org acme via connection rogue/, { from: late.mark });
  assert.ok(kid);
});
