// Layer 400: the authorization providers (Require org-member, org-role,
// org-meta, org-connection), alone and combined with httpd's own
// <RequireAll>/<RequireAny>, Require ip and Require all, plus config-time
// errors of Require lines.
//
// Status of a denied, *authenticated* user: httpd's authz core answers 401
// (it asks for other credentials) unless the location sets
// `AuthzSendForbiddenOnFailure On`, which makes it 403. Most locations here
// set it; /m1-default/ does not and documents the 401.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { ENV_CGI, describeHops, parseEnv, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };

const loc = (path, requires, extra = 'AuthzSendForbiddenOnFailure On') => `<Location ${path}>
    AuthType orgs
    ${extra}
    ${requires}
</Location>`;

const body = [
  `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>`,
  loc('/app/', 'Require org-member'),
  loc('/m1/', 'Require org-member org1'),
  loc('/m1-default/', 'Require org-member org1', ''),
  loc('/m12/', 'Require org-member org1 org2'),
  loc('/admin/', 'Require org-role admin auditor'),
  loc('/premium/', 'Require org-meta license premium enterprise'),
  loc('/via-okta2/', 'Require org-connection okta2'),
  loc('/all-ip/', `<RequireAll>
        Require org-member
        Require ip 127.0.0.1
    </RequireAll>`),
  loc('/all-denied/', `<RequireAll>
        Require org-member
        Require all denied
    </RequireAll>`),
  loc('/all-not-ip/', `<RequireAll>
        Require org-member
        Require not ip 127.0.0.1
    </RequireAll>`),
  loc('/any-premium/', `<RequireAny>
        Require all denied
        Require org-meta license premium
    </RequireAny>`),
  loc('/any-ip/', `<RequireAny>
        Require ip 127.0.0.1
        Require org-role admin
    </RequireAny>`),
  loc('/any-role-conn/', `<RequireAny>
        Require org-role admin
        Require org-connection okta2
    </RequireAny>`),
].join('\n');

const DIRS = ['app', 'm1', 'm1-default', 'm12', 'admin', 'premium', 'via-okta2', 'all-ip',
  'all-denied', 'all-not-ip', 'any-premium', 'any-ip', 'any-role-conn'];

let h;
let okta1;
let okta2;
// browsers signed in: alice (org1 via okta1), carol (org2 via okta2),
// erin (org1 via okta2, invited by member add)
const who = {};

before(async () => {
  h = await Httpd.create({ name: 'authz', body });
  for (const d of DIRS) h.cgi(`${d}/index.cgi`, ENV_CGI);
  const redirectUri = `${h.baseURL}/orgs/callback`;
  [okta1, okta2] = await Promise.all([
    startOp({ name: 'okta1', redirectUri, users: [{ email: 'alice@org1.example.com', sub: 'okta1-alice' }] }),
    startOp({
      name: 'okta2',
      redirectUri,
      authMethod: 'client_secret_post',
      users: [
        { email: 'carol@org2.example.com', sub: 'okta2-carol' },
        { email: 'erin@org2.example.com', sub: 'okta2-erin' },
      ],
    }),
  ]);
  await seed(h, {
    orgs: {
      org1: { displayName: 'Org One', meta: { license: 'corporate' } },
      org2: { displayName: 'Org Two', meta: { license: 'premium' } },
    },
    conns: [
      { op: okta1, displayName: 'Okta of Org One' },
      { op: okta2, displayName: 'Okta of Org Two' },
    ],
    enable: [
      ['org1', 'okta1', { autoMembership: true }],
      ['org1', 'okta2', { autoMembership: false }],
      ['org2', 'okta2', { autoMembership: true }],
    ],
  });
  // erin is invited into org1 before her first sign-in
  await h.orgctlOk('member', 'add', 'org1', '--connection', 'okta2', '--email', 'erin@org2.example.com');
  await h.start();

  const plan = {
    alice: { start: '/orgs/login?organization=org1&connection=okta1&return_to=/app/', email: 'alice@org1.example.com' },
    carol: { start: '/orgs/login?organization=org2&return_to=/app/', email: 'carol@org2.example.com' },
    erin: { start: '/orgs/login?organization=org1&connection=okta2&return_to=/app/', email: 'erin@org2.example.com' },
  };
  for (const [name, p] of Object.entries(plan)) {
    const app = h.client();
    const r = await signIn(app, { idp: new Client(), ...p });
    assert.equal(r.stage, 'app', `${name} could not sign in\n${describeHops(r.hops)}`);
    who[name] = { app, env: r.env };
  }
  assert.equal(who.alice.env.ORG_NAME, 'org1');
  assert.equal(who.carol.env.ORG_NAME, 'org2');
  assert.equal(who.erin.env.ORG_NAME, 'org1');
  assert.equal(who.erin.env.ORG_CONNECTION, 'okta2');
});

after(async () => {
  await h?.close();
  await okta1?.stop();
  await okta2?.stop();
});

async function get(name, path) {
  return who[name].app.get(path, { headers: HTML });
}

async function assertGranted(name, path) {
  const res = await get(name, path);
  assert.equal(res.status, 200, `${name} at ${path}: ${res.status}`);
  return parseEnv(res.body);
}

// A denial: the status, and ORGS00401 with the reason in the error log.
async function assertDenied(name, path, reason, status = 403) {
  const mark = h.logMark();
  const res = await get(name, path);
  assert.equal(res.status, status, `${name} at ${path}: ${res.status}`);
  assert.doesNotMatch(res.body, /ORG_NAME=/);
  const re = new RegExp(`ORGS00401: authorization denied for '${who[name].env.REMOTE_USER}': ${reason}`);
  await h.waitForLog(re, { from: mark });
}

test('org-member ORG: members of another org are denied (401 by default, 403 with AuthzSendForbiddenOnFailure)', async () => {
  const env = await assertGranted('alice', '/m1/');
  assert.equal(env.ORG_NAME, 'org1');
  await assertGranted('erin', '/m1/');
  await assertDenied('carol', '/m1/', 'not a member of these orgs', 403);
  // httpd's default for an authenticated user who fails authorization
  await assertDenied('carol', '/m1-default/', 'not a member of these orgs', 401);
  await assertGranted('alice', '/m1-default/');
  // several orgs on one line
  assert.equal((await assertGranted('carol', '/m12/')).ORG_NAME, 'org2');
  assert.equal((await assertGranted('alice', '/m12/')).ORG_NAME, 'org1');
});

test('org-member: no session means a login redirect (or 401 for XHR), not a denial', async () => {
  const c = h.client();
  const mark = h.logMark();
  let res = await c.get('/m1/', { headers: HTML });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?return_to=%2Fm1%2F/);
  res = await c.get('/m1/', { headers: { ...HTML, 'x-requested-with': 'XMLHttpRequest' } });
  assert.equal(res.status, 401);
  await h.waitForLog(/ORGS00201/, { from: mark });
  assert.doesNotMatch(h.errorLog(mark), /ORGS00401/);
});

test('org-role: granted after orgctl role add, denied again after role remove', async () => {
  await assertDenied('alice', '/admin/', 'none of the required roles');
  const uid = who.alice.env.ORG_USER_ID;
  await h.orgctlOk('role', 'add', 'org1', uid, 'admin');
  // takes effect on the next request, no new login
  const env = await assertGranted('alice', '/admin/');
  assert.equal(env.ORG_ROLES, 'admin');
  // the role is per org: erin (same org, no role) is still denied
  await assertDenied('erin', '/admin/', 'none of the required roles');
  // the second role on the line also grants
  await h.orgctlOk('role', 'add', 'org1', who.erin.env.ORG_USER_ID, 'auditor');
  assert.equal((await assertGranted('erin', '/admin/')).ORG_ROLES, 'auditor');
  await h.orgctlOk('role', 'remove', 'org1', uid, 'admin');
  await assertDenied('alice', '/admin/', 'none of the required roles');
});

test('org-meta: license premium (or enterprise) only', async () => {
  assert.equal((await assertGranted('carol', '/premium/')).ORG_META_license, 'premium');
  await assertDenied('alice', '/premium/', 'metadata value not allowed');
  // a metadata change applies at once
  await h.orgctlOk('org', 'update', 'org1', '--meta', 'license=enterprise');
  assert.equal((await assertGranted('alice', '/premium/')).ORG_META_license, 'enterprise');
  await h.orgctlOk('org', 'update', 'org1', '--unset-meta', 'license');
  await assertDenied('alice', '/premium/', 'metadata key not set on the org');
  await h.orgctlOk('org', 'update', 'org1', '--meta', 'license=corporate');
  await assertDenied('alice', '/premium/', 'metadata value not allowed');
});

test('org-connection: only sessions signed in through okta2', async () => {
  const env = await assertGranted('erin', '/via-okta2/');
  assert.equal(env.ORG_CONNECTION, 'okta2');
  assert.equal(env.ORG_NAME, 'org1');
  await assertGranted('carol', '/via-okta2/');
  await assertDenied('alice', '/via-okta2/', 'signed in through another connection');
});

test('<RequireAll>: org-member with Require ip 127.0.0.1 grants; with all denied or not ip denies', async () => {
  assert.equal((await assertGranted('alice', '/all-ip/')).ORG_NAME, 'org1');
  // httpd's own providers deny before any user is needed: httpd's AH01630
  let mark = h.logMark();
  let res = await get('alice', '/all-denied/');
  assert.equal(res.status, 403);
  assert.doesNotMatch(res.body, /ORG_NAME=/);
  await h.waitForLog(/AH01630: client denied by server configuration: .*all-denied/, { from: mark });
  mark = h.logMark();
  res = await get('alice', '/all-not-ip/');
  assert.equal(res.status, 403);
  await h.waitForLog(/AH01630: client denied by server configuration: .*all-not-ip/, { from: mark });
  // without a session: a login redirect for /all-ip/ (a user is needed)
  res = await h.client().get('/all-ip/', { headers: HTML });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?/);
});

test('<RequireAny>: all denied OR org-meta; ip OR org-role; org-role OR org-connection', async () => {
  assert.equal((await assertGranted('carol', '/any-premium/')).ORG_META_license, 'premium');
  await assertDenied('alice', '/any-premium/', 'metadata value not allowed');

  // Require ip 127.0.0.1 grants before any user is needed: httpd does not
  // run authentication, so the app sees no session and no ORG_* variables.
  const res = await h.client().get('/any-ip/', { headers: HTML });
  assert.equal(res.status, 200);
  const env = parseEnv(res.body);
  assert.equal(env.ORG_NAME, undefined);
  assert.equal(env.REMOTE_USER, undefined);

  await assertGranted('carol', '/any-role-conn/'); // via okta2
  await assertGranted('erin', '/any-role-conn/'); // via okta2 (and auditor, not admin)
  await assertDenied('alice', '/any-role-conn/', 'signed in through another connection');
});

test('a bad Require line fails apache2 -t, naming the provider', async () => {
  const t = await Httpd.create({ name: 'authz-bad' });
  try {
    const cases = [
      ['Require org-meta', /org-meta/],
      ['Require org-meta license', /org-meta: a key and at least one value are needed/],
      ['Require org-meta "bad key!" premium', /org-meta/],
      ['Require org-role', /org-role: at least one role is needed/],
      ['Require org-connection', /org-connection: at least one connection is needed/],
      ['Require org-member Not_A_Slug!', /org-member/],
    ];
    for (const [line, re] of cases) {
      const r = await t.configtest(`<Location /x/>\n    AuthType orgs\n    ${line}\n</Location>`);
      assert.notEqual(r.code, 0, `${line}: apache2 -t accepted it`);
      assert.match(r.stdout + r.stderr, re, `${line}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /Syntax OK/);
    }
    // and a good one passes
    const ok = await t.configtest(
      '<Location /x/>\n    AuthType orgs\n    Require org-meta license premium\n    Require org-role admin\n</Location>',
    );
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await t.close();
  }
});
