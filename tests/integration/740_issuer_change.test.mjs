// Layer 700: an issuer change does not hand accounts over. Users are bound
// to (connection, sub) under the connection's issuer. Two real OpenID
// Providers (op.mjs) share a client id and secret; at the second one,
// mallory has the same sub as alice (an org admin) at the first one.
// (a) `orgctl conn update okta1 --issuer <new>` with users is refused
//     (exit 4), and nothing changes;
// (b) --migrate-users keeps the users (the admin says the new issuer
//     vouches for the same subs) but ends the connection's sessions;
// (c) --drop-users removes them: mallory at the new IdP signs in as a new
//     user, without alice's role, and alice's old session is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { ENV_CGI, describeHops, parseEnv, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };
const SUB = 'shared-sub-0001';

let h;
let opA;
let opB;

before(async () => {
  h = await Httpd.create({
    name: 'issuer',
    body: `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.cgi('app/index.cgi', ENV_CGI);
  const common = {
    redirectUri: `${h.baseURL}/orgs/callback`,
    clientId: 'mod-auth-orgs-shared',
    clientSecret: 'shared-secret-of-both-ops',
  };
  opA = await startOp({
    ...common,
    name: 'okta1',
    users: [{ email: 'alice@org1.example.com', sub: SUB, name: 'Alice Admin' }],
  });
  opB = await startOp({
    ...common,
    name: 'okta9',
    users: [{ email: 'mallory@evil.example.com', sub: SUB, name: 'Mallory' }],
  });
  await seed(h, {
    orgs: { org1: { displayName: 'Org One' } },
    conns: [{ op: opA }],
    enable: [['org1', 'okta1', { autoMembership: true }]],
  });
  await h.start();
});

after(async () => {
  await h?.close();
  await opA?.stop();
  await opB?.stop();
});

async function login(email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&return_to=/app/',
    email,
  });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  return { app, env: r.env };
}

async function aliceAdmin() {
  const { app, env } = await login('alice@org1.example.com');
  await h.orgctlOk('role', 'add', 'org1', env.ORG_USER_ID, 'admin');
  const again = parseEnv((await app.get('/app/', { headers: HTML })).body);
  assert.equal(again.ORG_ROLES, 'admin');
  return { app, userId: env.ORG_USER_ID };
}

async function setIssuer(op, ...flags) {
  return h.orgctl('conn', 'update', 'okta1', '--issuer', op.issuer, ...flags);
}

test('(a) an issuer change with users is refused and changes nothing', async () => {
  const { app, userId } = await aliceAdmin();
  const res = await setIssuer(opB);
  assert.equal(res.code, 4, `orgctl answered ${res.code}: ${res.stdout} ${res.stderr}`);
  assert.match(res.stderr, /bound to issuer .*--migrate-users.*--drop-users/);
  const conn = JSON.parse(await h.orgctlOk('--json', 'conn', 'show', 'okta1'));
  assert.equal(conn.issuer, opA.issuer);
  const env = parseEnv((await app.get('/app/', { headers: HTML })).body);
  assert.equal(env.ORG_USER_ID, userId, 'the session still works');
});

test('(b) --migrate-users keeps the accounts and ends every session of the connection', async () => {
  const { app, userId } = await aliceAdmin();
  await h.orgctlOk('conn', 'update', 'okta1', '--issuer', opB.issuer, '--migrate-users');
  try {
    const res = await app.get('/app/', { headers: HTML });
    assert.equal(res.status, 302, 'the old session survived the issuer change');
    // the admin said so: the new issuer's sub is the same account
    const { env } = await login('mallory@evil.example.com');
    assert.equal(env.ORG_USER_ID, userId);
  } finally {
    await h.orgctlOk('conn', 'update', 'okta1', '--issuer', opA.issuer, '--migrate-users');
  }
});

test('(c) --drop-users: the same sub at the new IdP is a new user, without the admin role', async () => {
  const { app, userId } = await aliceAdmin();
  await h.orgctlOk('conn', 'update', 'okta1', '--issuer', opB.issuer, '--drop-users');
  try {
    const old = await app.get('/app/', { headers: HTML });
    assert.equal(old.status, 302, 'the old session survived the issuer change');
    const { env } = await login('mallory@evil.example.com');
    assert.notEqual(env.ORG_USER_ID, userId, 'mallory became alice');
    assert.equal(env.ORG_ROLES ?? '', '', 'mallory got alice\'s role');
    const gone = await h.orgctl('user', 'show', userId);
    assert.equal(gone.code, 3);
  } finally {
    await h.orgctlOk('conn', 'update', 'okta1', '--issuer', opA.issuer, '--drop-users');
  }
});
