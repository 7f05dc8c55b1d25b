// Layer 960: with a PostgreSQL store, a login started on one node completes
// on another. Two httpd nodes share one database (each its own replica and
// the same OrgsCryptoKey); the browser is one cookie jar for both (a load
// balancer's one host name). The login start stores nothing on its node:
// the pending login travels sealed in a cookie (orgs_plN), and the
// callback, sent to the other node, opens it. Covers: started on A, called
// back on B, signed in on B; the cookie cleared by the callback; the
// callback URL replayed (without the cookie: unknown state, ORGS00215; with
// a copy of it on the other node: the database knows it was used, the same
// refusal); a tampered cookie (400, ORGS00254); a cookie kept past the
// login's lifetime (400, ORGS00255); a browser with no cookie of ours goes
// to the IdP at once, with its login sealed and its browser cookie.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client, CookieJar } from './lib/client.mjs';
import { startOp, writeSecretFile } from './lib/idp.mjs';
import { ENV_CGI, errorCode, parseForm } from './lib/flow.mjs';
import { DEFAULT_PASSWORD } from './lib/idp.mjs';
import { sleep } from './lib/proc.mjs';
import { APP_BODY, PgStore } from './lib/pgnodes.mjs';

const HTML = { accept: 'text/html' };
const START = '/orgs/login?organization=org1&connection=okta1&return_to=%2Fapp%2F';
const body = APP_BODY;
const serverOrgs = (uri, extra = '') => `OrgsStore ${uri}
OrgsStoreReplica {{STORE}}
OrgsStoreMaxSize 64M
OrgsCryptoKey file:{{KEY}}
${extra}`;

// The nodes' one public address (OrgsPublicURL, as behind a load
// balancer): node A's; the test sends each request to the node it picks.
const pub = () => `OrgsPublicURL ${nodes[0].baseURL}`;

let store;
let pg;
let skip;
let op;
let nodes = [];

const pgctlOk = (...args) => store.ctlOk(...args);

// A browser behind a load balancer: one jar for both nodes (cookies do not
// tell ports apart), its IdP side apart.
function browser() {
  const jar = new CookieJar();
  return { jar, on: (h) => h.client({ jar }), idp: new Client() };
}

// Starts a login on node `from` and goes through the IdP; returns the
// callback URL the IdP sends the browser to (the public URL), not followed.
async function toCallback(b, from, email) {
  const res = await b.on(from).get(START, { headers: HTML });
  assert.equal(res.status, 302, `login start: ${res.status} ${res.body}`);
  let req = { method: 'GET', url: res.location };
  let formUsed = false;
  for (let i = 0; i < 20; i++) {
    if (new URL(req.url).pathname === '/orgs/callback') return req.url;
    const r = await b.idp.request(req.method, req.url, { headers: HTML, form: req.form });
    if ([302, 303].includes(r.status) && r.location) {
      req = { method: 'GET', url: r.location };
      continue;
    }
    const form = parseForm(r.body, /\/interaction\/[^/]+\/login$/);
    assert.ok(form && !formUsed, `stuck at the IdP: ${r.status} ${req.url}`);
    formUsed = true;
    req = {
      method: 'POST',
      url: new URL(form.action, r.url).toString(),
      form: { ...form.fields, login: email, password: DEFAULT_PASSWORD },
    };
  }
  throw new Error('no callback');
}

const onNode = (url, h) => url.replace(/^http:\/\/[^/]+/, h.baseURL);
const pendingCookies = (jar) => jar.cookies.filter((c) => /^orgs_pl\d$/.test(c.name));

before(async () => {
  store = await PgStore.start();
  if (store.skip) {
    skip = store.skip;
    return;
  }
  pg = store.pg;
  // one key for all nodes; the public URL is node A's
  nodes = await store.addNodes(['a', 'b'], {
    name: 'pgp-node', body, extra: (ns) => `OrgsPublicURL ${ns[0].baseURL}`,
  });
  for (const h of nodes) h.cgi('app/index.cgi', ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: [`${nodes[0].baseURL}/orgs/callback`],
    users: ['alice', 'bob'].map((n) => ({ email: `${n}@org1.example.com`, sub: `okta1-${n}` })),
  });
  await pgctlOk('init');
  await pgctlOk('org', 'create', 'org1');
  const secret = writeSecretFile(nodes[0].confDir, 'okta1', op.clientSecret);
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

test('a login started on node A completes on node B; replays are refused', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const br = browser();
  const markA = a.logMark();
  const markB = b.logMark();
  const callback = await toCallback(br, a, 'alice@org1.example.com');
  // the login lives in the browser: one sealed cookie, nothing in the clear
  const sealed = pendingCookies(br.jar);
  assert.equal(sealed.length, 1);
  assert.match(sealed[0].value, /^[A-Za-z0-9_-]{10}\.\d+\.[A-Za-z0-9_-]+$/);
  assert.ok(sealed[0].value.length <= 1400);
  assert.doesNotMatch(Buffer.from(sealed[0].value.split('.')[2], 'base64url').toString('latin1'),
    /org_|conn_|\/app\//);
  const copy = sealed[0].value;

  const res = await br.on(b).get(onNode(callback, b), { headers: HTML });
  assert.equal(res.status, 302, `callback on B: ${res.status} ${res.body}\n${b.errorLog(markB)}`);
  assert.equal(new URL(res.location).pathname, '/app/');
  assert.ok(res.setCookies.some((c) => /^orgs_pl1=;.*Max-Age=0/.test(c)), res.setCookies.join('\n'));
  assert.equal(pendingCookies(br.jar).length, 0);
  const app = await br.on(b).get('/app/', { headers: HTML });
  assert.equal(app.status, 200);
  assert.match(app.body, /ORG_NAME=org1/);
  await b.waitForLog(/ORGS00229: user \S+ signed in to org org1 via connection okta1/, { from: markB });
  assert.doesNotMatch(a.errorLog(markA), /ORGS00229|ORGS00205/);

  // the same callback again, the cookie gone: an unknown state on either node
  for (const h of nodes) {
    const mark = h.logMark();
    const r = await br.on(h).get(onNode(callback, h), { headers: HTML });
    assert.equal(r.status, 400);
    assert.equal(errorCode(r.body), 'invalid_request');
    await h.waitForLog(/ORGS00215: callback: state unknown, forged or already used/, { from: mark });
  }
  // with a copy of the cookie, on the node that has never seen it: the
  // state opens, but the database knows the login was used (B's sign-in
  // recorded it): refused as an unknown state, the IdP not asked again
  br.jar.set('orgs_pl1', copy);
  const mark = a.logMark();
  const r = await br.on(a).get(onNode(callback, a), { headers: HTML });
  assert.equal(r.status, 400, r.body);
  assert.equal(errorCode(r.body), 'invalid_request');
  await a.waitForLog(/ORGS00215: callback: state unknown, forged or already used/, { from: mark });
  assert.doesNotMatch(a.errorLog(mark), /ORGS00229|ORGS00223/);
});

test('a tampered sealed login is refused with ORGS00254', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const br = browser();
  const callback = await toCallback(br, a, 'bob@org1.example.com');
  const [c] = pendingCookies(br.jar);
  const i = c.value.length - 5;
  br.jar.set(c.name, c.value.slice(0, i) + (c.value[i] === 'A' ? 'B' : 'A') + c.value.slice(i + 1));
  const mark = b.logMark();
  const r = await br.on(b).get(onNode(callback, b), { headers: HTML });
  assert.equal(r.status, 400);
  assert.equal(errorCode(r.body), 'invalid_request');
  await b.waitForLog(/ORGS00254: callback: the sign-in kept in the browser's cookie does not open/,
    { from: mark });
  assert.doesNotMatch(b.errorLog(mark), /ORGS00229/);
  assert.equal(pendingCookies(br.jar).length, 0); // cleared all the same
});

test('several logins at once in one browser each keep their own cookie', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  const br = browser();
  const first = await toCallback(br, a, 'alice@org1.example.com');
  const second = await toCallback(br, b, 'alice@org1.example.com');
  assert.equal(pendingCookies(br.jar).length, 2);
  // the first tab's callback lands on B, the second's on A
  for (const [url, h] of [[first, b], [second, a]]) {
    const r = await br.on(h).get(onNode(url, h), { headers: HTML });
    assert.equal(r.status, 302, `${h.baseURL}: ${r.status} ${r.body}`);
  }
  assert.equal(pendingCookies(br.jar).length, 0);
  // a fourth login replaces the oldest of three
  for (let i = 0; i < 4; i++) {
    const res = await br.on(a).get(START, { headers: HTML });
    assert.equal(res.status, 302);
  }
  assert.equal(pendingCookies(br.jar).length, 3);
});

test('a browser without our cookie goes to the IdP at once, its login sealed and bound to the browser cookie given with it', async (t) => {
  if (skip) return t.skip(skip);
  const app = nodes[0].client();
  const res = await app.get(START, { headers: HTML, cookieCheck: 'manual' });
  assert.equal(res.status, 302);
  assert.doesNotMatch(res.location, /cookie_check=1/);
  assert.ok(!res.location.startsWith('/') && !res.location.startsWith(nodes[0].baseURL),
    `to the IdP, not back here: ${res.location}`);
  assert.ok(res.setCookies.some((c) => /^orgs_pl1=/.test(c)), res.setCookies.join('\n'));
  assert.ok(res.setCookies.some((c) => /^orgs_browser=/.test(c)), res.setCookies.join('\n'));
});

test('a sealed login kept past OrgsLoginTimeout is refused with ORGS00255', async (t) => {
  if (skip) return t.skip(skip);
  const [a, b] = nodes;
  // node B allows 2 seconds for a login; A (where it starts) the default
  b.writeConf(body, serverOrgs(pg.uri, `${pub()}\nOrgsLoginTimeout 2s`));
  await b.stop();
  await b.start();
  try {
    const br = browser();
    const callback = await toCallback(br, a, 'bob@org1.example.com');
    const [c] = pendingCookies(br.jar);
    await sleep(3000);
    br.jar.set(c.name, c.value); // a browser that kept it past its Max-Age
    const mark = b.logMark();
    const r = await br.on(b).get(onNode(callback, b), { headers: HTML });
    assert.equal(r.status, 400);
    await b.waitForLog(/ORGS00255: callback: the sign-in kept in the browser's cookie has expired/,
      { from: mark });
    assert.doesNotMatch(b.errorLog(mark), /ORGS00229/);
  } finally {
    b.writeConf(body, serverOrgs(pg.uri, pub()));
    await b.stop();
    await b.start();
  }
});
