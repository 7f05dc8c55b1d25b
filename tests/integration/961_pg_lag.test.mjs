// Layer 960: the lag bound of a replica (OrgsReplicaMaxLag). One node on a
// throw-away PostgreSQL; the replicator records in the replica when it last
// read the change log to its end. PostgreSQL killed: once the replica is
// older than the bound, a login start and a callback answer 503 with
// ORGS00860 (a stale replica starts no session), signed-in users keep
// working; PostgreSQL back: sign-ins work again by themselves. Bad values
// of the directive stop httpd naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from './lib/client.mjs';
import { DEFAULT_PASSWORD, startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, describeHops, errorCode, parseForm, signIn } from './lib/flow.mjs';
import { sleep } from './lib/proc.mjs';
import { APP_BODY, PgStore } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const START = '/orgs/login?organization=org1&connection=okta1&return_to=%2Fapp%2F';
const body = APP_BODY;
const serverOrgs = (uri, lag = 'OrgsReplicaMaxLag 3s') => `OrgsStore ${uri}
OrgsStoreReplica {{STORE}}
OrgsStoreMaxSize 64M
OrgsCryptoKey file:{{KEY}}
${lag}`;

let store;
let pg;
let skip;
let op;
let h;

const pgctlOk = (...args) => store.ctlOk(...args);

async function signInOk(email) {
  const app = h.client();
  const r = await signIn(app, { idp: new Client(), start: START, email });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  return app;
}

// A login started and taken through the IdP; the callback URL, not followed.
async function toCallback(app, email) {
  const idp = new Client();
  const res = await app.get(START, { headers: HTML });
  assert.equal(res.status, 302);
  let req = { method: 'GET', url: res.location };
  for (let i = 0, formUsed = false; i < 20; i++) {
    if (new URL(req.url).pathname === '/orgs/callback') return req.url;
    const r = await idp.request(req.method, req.url, { headers: HTML, form: req.form });
    if ([302, 303].includes(r.status) && r.location) {
      req = { method: 'GET', url: r.location };
      continue;
    }
    const form = parseForm(r.body, /\/interaction\/[^/]+\/login$/);
    assert.ok(form && !formUsed, `stuck at the IdP: ${r.status}`);
    formUsed = true;
    req = {
      method: 'POST',
      url: new URL(form.action, r.url).toString(),
      form: { ...form.fields, login: email, password: DEFAULT_PASSWORD },
    };
  }
  throw new Error('no callback');
}

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  [h] = await store.addNodes(['a'], { name: 'pg-lag', body, extra: 'OrgsReplicaMaxLag 3s' });
  h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: `${h.baseURL}/orgs/callback`,
    users: ['alice', 'bob'].map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  await pgctlOk('init');
  await pgctlOk('org', 'create', 'org1');
  const secret = writeSecretFile(h.confDir, 'okta1', op.clientSecret);
  await pgctlOk('conn', 'create', 'okta1', '--issuer', op.issuer, '--client-id', op.clientId,
    '--client-secret-file', secret);
  await pgctlOk('org', 'enable-conn', 'org1', 'okta1');
  for (const n of ['alice', 'bob']) {
    await pgctlOk('member', 'add', 'org1', '--connection', 'okta1', '--email', `${n}@org1.example.com`);
  }
  await store.startNodes();
});

after(async () => {
  await op?.stop();
  await store?.close();
});

test('OrgsReplicaMaxLag: bad values stop httpd naming the directive', async (t) => {
  if (skip) return t.skip(skip);
  for (const bad of ['1s', 'soon', '0']) {
    const r = await h.configtest(body, serverOrgs(pg.uri, `OrgsReplicaMaxLag ${bad}`));
    assert.notEqual(r.code, 0, bad);
    assert.match(r.stderr, /OrgsReplicaMaxLag: /, bad);
  }
  for (const good of ['off', '2s', '1m']) {
    const r = await h.configtest(body, serverOrgs(pg.uri, `OrgsReplicaMaxLag ${good}`));
    assert.equal(r.code, 0, `${good}: ${r.stderr}`);
  }
  h.writeConf(body, serverOrgs(pg.uri));
});

test('a replica past the bound refuses new sign-ins (503, ORGS00860), serves signed-in users', async (t) => {
  if (skip) return t.skip(skip);
  const alice = await signInOk('alice@org1.example.com');
  // a login under way when the database goes: its callback comes late
  const late = h.client();
  const callback = await toCallback(late, 'bob@org1.example.com');
  const mark = h.logMark();
  const t0 = performance.now();
  await pg.kill();
  await h.waitForLog(/ORGS00837: /, { from: mark, timeoutMs: 10000 });
  // within the bound, sign-ins still start (the IdP is asked)
  const early = await h.client().get(START, { headers: HTML });
  if (performance.now() - t0 < 2000) assert.equal(early.status, 302);
  await sleep(Math.max(0, 4500 - (performance.now() - t0)));

  const res = await h.client().get(START, { headers: HTML });
  assert.equal(res.status, 503, res.body);
  assert.equal(res.headers['retry-after'], '5');
  assert.equal(errorCode(res.body), 'temporarily_unavailable');
  await h.waitForLog(/ORGS00860: OrgsReplicaMaxLag: the replica \S+ was last confirmed current \d+s ago \(bound 3s\): new sign-ins answered 503/,
    { from: mark });
  const cb = await late.get(callback, { headers: HTML });
  assert.equal(cb.status, 503);
  assert.doesNotMatch(h.errorLog(mark), /ORGS00229/);
  // signed-in users keep being served from the replica as it is
  assert.equal((await alice.get('/app/', { headers: HTML })).status, 200);
  // many refusals, few lines
  for (let i = 0; i < 20; i++) await h.client().get(START, { headers: HTML });
  assert.ok((h.errorLog(mark).match(/ORGS00860/g) || []).length <= 3);

  // the database back: sign-ins resume by themselves, no restart
  await pg.start();
  await h.waitForLog(/ORGS00836: /, { from: mark, timeoutMs: 15000 });
  const deadline = Date.now() + 10000;
  let again;
  do {
    again = await h.client().get(START, { headers: HTML });
  } while (again.status === 503 && Date.now() < deadline && (await sleep(200), true));
  assert.equal(again.status, 302);
  await signInOk('bob@org1.example.com');
});
