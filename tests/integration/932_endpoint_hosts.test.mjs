// Layer 900: back-channel endpoint hosts are allowed per connection. Two
// tenants, each with its own hostile OP (tests/idp/rogue.mjs, on 127.0.0.1):
// org beta's IdP legitimately serves its token endpoint and JWKS from
// another host (`localhost`, the same OP), allowed for beta's connection
// only (`orgctl conn create … --allow-endpoint-host localhost`). Org acme's
// IdP advertises beta's token endpoint and jwks_uri as its own:
// (a) acme's login is refused (502, ORGS00581) and beta's IdP sees no call;
// (b) beta signs in through the very same endpoints;
// (c) the admin API shows the connection's list, and clearing it there
//     refuses a login already in flight at its callback (502, ORGS00586):
//     the token endpoint (which would receive the client secret) is not
//     called;
// (d) the server-wide OrgsBackchannelAllowHost still allows a host for every
//     connection, as documented.
// Also: every back-channel call (discovery, JWKS, token) names itself
// `mod_auth_orgs` to the tenant's IdP, without the exact version.
// Before per-connection lists, the only way to let beta in was the
// server-wide directive, which let acme's IdP in as well.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEFAULT_SERVER_ORGS, Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { Rogue } from './lib/rogue.mjs';
import { describeHops, errorCode, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };
const A_ID = 'mod-auth-orgs-acme';
const A_SECRET = 'acme-secret-for-endpoint-hosts';
const B_ID = 'mod-auth-orgs-beta';
const B_SECRET = 'beta-secret-for-endpoint-hosts';

let h;
let opA;
let opB;
let token;
let bElsewhere; // beta's endpoints on the host `localhost`

async function api(method, path, json) {
  return h.client().request(method, `/orgs/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    json,
  });
}

// A login started in a fresh browser up to the IdP's authorize URL (the
// cookie self-redirect followed); the last app answer when it stops earlier.
async function toIdp(c, start, issuer) {
  let res = await c.get(start, { headers: HTML });
  for (let i = 0; i < 4 && res.status === 302 && !res.location.startsWith(issuer); i++) {
    res = await c.get(res.location, { headers: HTML });
  }
  return res;
}

before(async () => {
  opA = await Rogue.start({ clientId: A_ID, clientSecret: A_SECRET });
  opB = await Rogue.start({ clientId: B_ID, clientSecret: B_SECRET });
  bElsewhere = {
    jwksUri: `http://localhost:${opB.port}/jwks`,
    tokenEndpoint: `http://localhost:${opB.port}/token`,
  };
  h = await Httpd.create({
    name: 'endpoint-hosts',
    // both OPs are on loopback: the address rule lets them through (by
    // address and by the name `localhost` as written), so that the host
    // rule alone decides here
    allowInternal: '127.0.0.1 ::1 localhost',
    body: `<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /orgs/api/v1>
    SetHandler orgs-admin
    AuthType orgs
    Require org-api-token
</Location>`,
  });
  h.file('htdocs/app/index.html', 'protected page\n');
  const secA = h.file('conf/a.secret', `${A_SECRET}\n`, 0o600);
  const secB = h.file('conf/b.secret', `${B_SECRET}\n`, 0o600);
  await h.orgctlOk('org', 'create', 'acme');
  await h.orgctlOk('org', 'create', 'beta');
  await h.orgctlOk('conn', 'create', 'acme-idp', '--issuer', opA.issuer, '--client-id', A_ID,
    '--client-secret-file', secA, '--no-check');
  await h.orgctlOk('conn', 'create', 'beta-idp', '--issuer', opB.issuer, '--client-id', B_ID,
    '--client-secret-file', secB, '--no-check', '--allow-endpoint-host', 'localhost');
  await h.orgctlOk('org', 'enable-conn', 'acme', 'acme-idp', '--auto-membership');
  await h.orgctlOk('org', 'enable-conn', 'beta', 'beta-idp', '--auto-membership');
  token = await h.orgctlOk('token', 'create');
  await opB.mode('good', { sub: 'bob', email: 'bob@beta.example', ...bElsewhere });
  // acme's IdP names beta's IdP's endpoints as its own
  await opA.mode('good', { sub: 'eve', email: 'eve@acme.example', ...bElsewhere });
  await h.start();
});

after(async () => {
  await h?.close();
  await opA?.stop();
  await opB?.stop();
});

test('(a) endpoints on a host only another connection allows: 502, ORGS00581, no call there', async () => {
  const before = await opB.counts();
  const mark = h.logMark();
  const res = await toIdp(h.client(), '/orgs/login?organization=acme&return_to=%2Fapp%2F', opA.issuer);
  assert.equal(res.status, 502, `${res.status} ${res.location ?? ''}`);
  assert.equal(errorCode(res.body), 'temporarily_unavailable');
  await h.waitForLog(
    /ORGS00581: connection acme-idp: back-channel endpoint refused: discovery document refused: token_endpoint http:\/\/localhost:\d+ is not on the issuer's origin .* nor a host the connection allows/,
    { from: mark },
  );
  const now = await opB.counts();
  assert.equal(now.jwks, before.jwks, 'beta\'s JWKS was fetched for acme');
  assert.equal(now.token, before.token, 'beta\'s token endpoint was called for acme');
  // the same with only the JWKS elsewhere: the key set is not fetched either
  await opA.mode('good', { sub: 'eve', email: 'eve@acme.example', jwksUri: bElsewhere.jwksUri });
  const mark2 = h.logMark();
  const res2 = await toIdp(h.client(), '/orgs/login?organization=acme&return_to=%2Fapp%2F', opA.issuer);
  assert.equal(res2.status, 502);
  // the per-issuer log gate may hold this second line back: the count is the proof
  assert.doesNotMatch(h.errorLog(mark2), /ORGS00206: login to org acme/);
  assert.equal((await opB.counts()).jwks, before.jwks);
  await opA.mode('good', { sub: 'eve', email: 'eve@acme.example', ...bElsewhere });
});

test('(b) the connection that allows the host signs in through it', async () => {
  const before = await opB.counts();
  const mark = h.logMark();
  const r = await signIn(h.client(), { idp: new Client(), start: '/orgs/login?organization=beta&return_to=/app/' });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  assert.equal(r.last.status, 200);
  assert.match(r.last.body, /protected page/);
  const now = await opB.counts();
  assert.ok(now.token > before.token, 'the token endpoint on the allowed host was called');
  assert.doesNotMatch(h.errorLog(mark), /ORGS0058[16]/);
  // the tenant's IdP learns the product, not its exact version
  assert.deepEqual((await opB.last()).userAgents, ['mod_auth_orgs']);
});

test('(c) the admin API shows the list; clearing it refuses a login in flight at its callback', async () => {
  let r = await api('GET', '/connections/beta-idp');
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body).options.allowed_endpoint_hosts, ['localhost']);
  r = await api('GET', '/connections/acme-idp');
  assert.deepEqual(JSON.parse(r.body).options.allowed_endpoint_hosts, []);
  r = await api('PATCH', '/connections/acme-idp', { options: { allowed_endpoint_hosts: ['https://x.example/'] } });
  assert.equal(r.status, 400, r.body);
  assert.match(r.body, /endpoint host/);

  const c = h.client();
  const idp = new Client();
  const start = await toIdp(c, '/orgs/login?organization=beta&return_to=%2Fapp%2F', opB.issuer);
  assert.equal(start.status, 302);
  assert.ok(start.location.startsWith(`${opB.issuer}/authorize?`), start.location);

  r = await api('PATCH', '/connections/beta-idp', { options: { allowed_endpoint_hosts: [] } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body).options.allowed_endpoint_hosts, []);

  const before = await opB.counts();
  const mark = h.logMark();
  const back = await idp.get(start.location);
  assert.equal(back.status, 302);
  const cb = await c.get(back.location, { headers: HTML });
  assert.equal(cb.status, 502, cb.body.slice(0, 300));
  await h.waitForLog(
    /ORGS00586: callback: connection beta-idp: back-channel endpoint refused: .*token_endpoint http:\/\/localhost:\d+/,
    { from: mark },
  );
  assert.equal((await opB.counts()).token, before.token, 'the token endpoint got the secret anyway');

  // put back through the API, and beta signs in again
  r = await api('PATCH', '/connections/beta-idp', { options: { allowed_endpoint_hosts: ['LOCALHOST'] } });
  assert.deepEqual(JSON.parse(r.body).options.allowed_endpoint_hosts, ['localhost']);
  const again = await signIn(h.client(), { idp: new Client(), start: '/orgs/login?organization=beta&return_to=/app/' });
  assert.equal(again.stage, 'app', describeHops(again.hops));
});

test('(d) OrgsBackchannelAllowHost allows a host for every connection', async () => {
  h.opts.serverOrgs = `${DEFAULT_SERVER_ORGS}\nOrgsBackchannelAllowHost localhost`;
  h.writeConf();
  await h.graceful({ waitMs: 1500 });
  // acme's refusals above made its issuer back off for a few seconds
  let res;
  for (let i = 0; i < 40; i++) {
    res = await toIdp(h.client(), '/orgs/login?organization=acme&return_to=%2Fapp%2F', opA.issuer);
    if (res.status === 302) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(res.status, 302, `${res.status} ${res.body?.slice(0, 200)}`);
  assert.ok(res.location.startsWith(`${opA.issuer}/authorize?`), res.location);
});
