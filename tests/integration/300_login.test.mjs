// Layer 300: the login flow end to end, with two real OpenID Providers
// (okta1: client_secret_basic, okta2: client_secret_post) and a CGI that
// prints its environment. Organizations, connections and members are set
// up with orgctl, as an administrator would.
//
//   org1  "Org One"  license=corporate  org1.example.com            okta1 (auto), later okta2 (no auto)
//   org2  "Org Two"  license=premium    org2.example.com my.example.com  okta2 (auto)
//
// The tests run in order and share the server, the providers and the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import {
  ENV_CGI,
  chooserLinks,
  createOrg,
  describeHops,
  enableConn,
  errorCode,
  memberList,
  parseEnv,
  seed,
  signIn,
  signOut,
} from './lib/flow.mjs';

const HTML = { accept: 'text/html' };

let h;
let okta1;
let okta2;
let orgIds;

const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /org1/>
    AuthType orgs
    OrgsOrganization org1
    Require org-member
</Location>
<Location /org2/>
    AuthType orgs
    OrgsOrganization org2
    Require org-member
</Location>
<Location /org3/>
    AuthType orgs
    OrgsOrganization org3
    Require org-member
</Location>
<Location /api/>
    AuthType orgs
    OrgsUnauthenticated 401
    Require org-member
</Location>
<Location /portal/>
    AuthType orgs
    OrgsOrganization "%{HTTP:X-Portal-Org}"
    Require org-member
</Location>
<Location /partner/>
    AuthType orgs
    OrgsOrganization org1
    OrgsErrorURL /sorry.html
    Require org-member
</Location>`;

before(async () => {
  h = await Httpd.create({ name: 'login', body });
  for (const dir of ['app', 'org1', 'org2', 'org3', 'api', 'partner', 'portal']) h.cgi(`${dir}/index.cgi`, ENV_CGI);
  const redirectUri = `${h.baseURL}/orgs/callback`;
  [okta1, okta2] = await Promise.all([
    startOp({
      name: 'okta1',
      redirectUri,
      users: [
        { email: 'alice@org1.example.com', sub: 'okta1-alice', name: 'Alice Anders' },
        { email: 'bob@org1.example.com', sub: 'okta1-bob', name: 'Bob Brown' },
      ],
    }),
    startOp({
      name: 'okta2',
      redirectUri,
      authMethod: 'client_secret_post',
      users: [
        { email: 'carol@org2.example.com', sub: 'okta2-carol', name: 'Carol Clark' },
        { email: 'dave@my.example.com', sub: 'okta2-dave', name: 'Dave Dunn' },
        { email: 'erin@org2.example.com', sub: 'okta2-erin', name: 'Erin Evans' },
        { email: 'frank@org2.example.com', sub: 'okta2-frank', name: 'Frank Fox' },
      ],
    }),
  ]);
  ({ orgIds } = await seed(h, {
    orgs: {
      org1: { displayName: 'Org One', meta: { license: 'corporate' }, domains: ['org1.example.com'] },
      org2: {
        displayName: 'Org Two',
        meta: { license: 'premium' },
        domains: ['org2.example.com', 'my.example.com'],
      },
    },
    conns: [
      { op: okta1, displayName: 'Okta of Org One' },
      { op: okta2, displayName: 'Okta of Org Two' },
    ],
    enable: [
      ['org1', 'okta1', { autoMembership: true }],
      ['org2', 'okta2', { autoMembership: true }],
    ],
  }));
  await h.start();
});

after(async () => {
  await h?.close();
  await okta1?.stop();
  await okta2?.stop();
});

// A fresh browser: its jar at the httpd and its own jar at the IdPs.
function browser() {
  return { app: h.client(), idp: new Client() };
}

async function login(b, opts) {
  return signIn(b.app, { idp: b.idp, ...opts });
}

function assertServed(r, what) {
  assert.equal(r.stage, 'app', `${what}: flow stopped at ${r.stage}\n${describeHops(r.hops)}`);
  assert.equal(r.last.status, 200, `${what}\n${describeHops(r.hops)}`);
}

test('1: a new okta1 user signs in to org1 and becomes a member by auto-membership', async () => {
  const email = 'newbie@org1.example.com';
  await okta1.addUsers([{ email, name: 'New Bie' }]);
  const before = await memberList(h, 'org1');
  assert.ok(!before.some((m) => m.email === email));

  const b = browser();
  const mark = h.logMark();
  const r = await login(b, { start: '/app/', organization: 'org1', email });
  const hops = describeHops(r.hops);
  // /app/ -> /orgs/login (prompt) -> org1 has one connection: straight to okta1
  assert.equal(r.hops[0].status, 302, hops);
  assert.match(r.hops[0].location, /\/orgs\/login\?return_to=%2Fapp%2F/, hops);
  assert.equal(r.hops[1].status, 200, hops);
  assert.match(r.hops[1].body, /id="org-form"/);
  assert.ok(r.idpFormShown, `the okta1 login form was never shown\n${hops}`);
  assert.ok(r.hops.some((x) => x.side === 'idp' && x.url.startsWith(`${okta1.issuer}/auth?`)), hops);
  assertServed(r, 'newbie at /app/');
  assert.equal(r.last.url, h.url('/app/'));

  assert.match(r.env.ORG_ID, /^org_[0-9A-Za-z]{16}$/);
  assert.equal(r.env.ORG_ID, orgIds.org1);
  assert.equal(r.env.ORG_NAME, 'org1');
  assert.equal(r.env.ORG_DISPLAY_NAME, 'Org One');
  assert.equal(r.env.ORG_CONNECTION, 'okta1');
  assert.equal(r.env.REMOTE_USER, email);
  assert.equal(r.env.AUTH_TYPE, 'orgs');
  assert.equal(r.env.ORG_CLAIM_email, email);
  assert.equal(r.env.ORG_CLAIM_name, 'New Bie');
  assert.equal(r.env.ORG_META_license, 'corporate');
  assert.match(r.env.ORG_USER_ID, /^usr_/);

  const members = await memberList(h, 'org1');
  const m = members.find((x) => x.email === email);
  assert.ok(m, `orgctl member list org1 lacks ${email}: ${JSON.stringify(members)}`);
  assert.equal(m.connection, 'okta1');
  assert.equal(m.user_id, r.env.ORG_USER_ID);
  await h.waitForLog(/ORGS00225: user usr_\S+ joined org org1 by auto-membership of okta1/, { from: mark });
  await h.waitForLog(/ORGS00229: user usr_\S+ signed in to org org1 via connection okta1/, { from: mark });
  // the first login of the server sweeps expired sessions (then at most every 15 minutes)
  await h.waitForLog(/ORGS00237: removed \d+ expired sessions/, { from: mark });

  // the session serves the next request without any login
  const again = await b.app.get('/app/', { headers: HTML });
  assert.equal(again.status, 200);
});

test('2: carol signs in to org2 through okta2 (client_secret_post) and sees its metadata', async () => {
  const b = browser();
  const r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  const hops = describeHops(r.hops);
  // OrgsOrganization org2: no prompt, straight to okta2
  assert.match(r.hops[0].location, /\/orgs\/login\?return_to=%2Forg2%2F&organization=org2$/, hops);
  assert.equal(r.hops[1].status, 302, hops);
  assert.ok(r.hops[1].location.startsWith(`${okta2.issuer}/auth?`), hops);
  assertServed(r, 'carol at /org2/');
  assert.equal(r.env.ORG_NAME, 'org2');
  assert.equal(r.env.ORG_DISPLAY_NAME, 'Org Two');
  assert.equal(r.env.ORG_META_license, 'premium');
  assert.equal(r.env.ORG_CONNECTION, 'okta2');
  assert.equal(r.env.REMOTE_USER, 'carol@org2.example.com');
  assert.equal(r.env.ORG_CLAIM_sub, 'okta2-carol');
});

test('3: collaboration: an okta2 user gets into org1 only once made a member', async () => {
  await enableConn(h, 'org1', 'okta2'); // no auto-membership
  const email = 'erin@org2.example.com';
  const b = browser();
  let mark = h.logMark();
  let r = await login(b, { start: '/org1/', connection: 'okta2', email });
  let hops = describeHops(r.hops);
  assert.ok(r.hops.some((x) => /id="connections"/.test(x.body)), `no chooser\n${hops}`);
  assert.equal(r.stage, 'error', hops);
  assert.equal(r.last.status, 403, hops);
  assert.equal(r.last.url.split('?')[0], h.url('/orgs/callback'));
  assert.equal(errorCode(r.last.body), 'access_denied');
  assert.equal(b.app.jar.get('orgs_sess_org1'), undefined, 'no session cookie after a denial');
  await h.waitForLog(/ORGS00226: access_denied: user usr_\S+ of connection okta2 is not a member of org org1/, {
    from: mark,
  });
  assert.ok(!(await memberList(h, 'org1')).some((m) => m.email === email));

  await h.orgctlOk('member', 'add', 'org1', '--connection', 'okta2', '--email', email);
  mark = h.logMark();
  // same browser, okta2 remembers erin (SSO): no password this time
  r = await login(b, { start: '/org1/', connection: 'okta2', email });
  hops = describeHops(r.hops);
  assertServed(r, 'erin at /org1/ after member add');
  assert.equal(r.env.ORG_NAME, 'org1');
  assert.equal(r.env.ORG_META_license, 'corporate');
  assert.equal(r.env.ORG_CONNECTION, 'okta2');
  assert.equal(r.env.REMOTE_USER, email);
  await h.waitForLog(/ORGS00229: user \S+ signed in to org org1 via connection okta2/, { from: mark });
  assert.doesNotMatch(h.errorLog(mark), /ORGS00226/);
});

test('3b: OrgsErrorURL of the location a login returns to receives the denial', async () => {
  const email = 'frank@org2.example.com';
  const b = browser();
  const mark = h.logMark();
  const r = await login(b, { start: '/partner/', connection: 'okta2', email });
  const hops = describeHops(r.hops);
  const cb = r.hops.find((x) => x.url.startsWith(h.url('/orgs/callback?')));
  assert.ok(cb, `no callback\n${hops}`);
  assert.equal(cb.status, 302, hops);
  const dest = new URL(cb.location, h.baseURL);
  assert.equal(dest.pathname, '/sorry.html', hops);
  assert.equal(dest.searchParams.get('error'), 'access_denied');
  assert.ok(dest.searchParams.get('error_description'), 'error_description');
  assert.equal(b.app.jar.get('orgs_sess_org1'), undefined, 'no session cookie after a denial');
  await h.waitForLog(/ORGS00226: access_denied/, { from: mark });
  // other locations keep the module's own error page
  const r2 = await login(browser(), { start: '/org1/', connection: 'okta2', email });
  assert.equal(r2.last.status, 403, describeHops(r2.hops));
  assert.equal(errorCode(r2.last.body), 'access_denied');
});

test('4: home-realm discovery by email domain; unknown domain and unknown org', async () => {
  const c = h.client();
  let mark = h.logMark();
  let res = await c.get('/orgs/login?organization=someone%40my.example.com', { headers: HTML });
  assert.equal(res.status, 302);
  assert.ok(res.location.startsWith(`${okta2.issuer}/auth?`), res.location);
  const auth = new URL(res.location);
  assert.equal(auth.searchParams.get('login_hint'), 'someone@my.example.com');
  assert.equal(auth.searchParams.get('client_id'), okta2.clientId);
  assert.equal(auth.searchParams.get('redirect_uri'), h.url('/orgs/callback'));
  await h.waitForLog(/ORGS00206: login to org org2 via connection okta2/, { from: mark });

  mark = h.logMark();
  res = await c.get('/orgs/login?organization=someone%40unknown.example.net', { headers: HTML });
  assert.equal(res.status, 404);
  assert.match(res.body, /id="error"[^>]*>No organization uses that email domain/);
  assert.match(res.body, /id="org-form"/);
  assert.equal(res.location, null);
  await h.waitForLog(/ORGS00209: login: no organization owns the domain unknown\.example\.net/, { from: mark });

  mark = h.logMark();
  res = await c.get('/orgs/login?organization=no-such-org', { headers: HTML });
  assert.equal(res.status, 404);
  assert.match(res.body, /id="error"[^>]*>No organization by that name/);
  assert.equal(res.location, null);
  await h.waitForLog(/ORGS00207: login: unknown organization requested/, { from: mark });
});

test('5: removing the member or deleting the org ends access at once', async () => {
  const b = browser();
  let r = await login(b, { start: '/app/', organization: 'org1', connection: 'okta1', email: 'bob@org1.example.com' });
  assertServed(r, 'bob at /app/');
  assert.equal(r.env.REMOTE_USER, 'bob@org1.example.com');

  await h.orgctlOk('member', 'remove', 'org1', '--connection', 'okta1', '--email', 'bob@org1.example.com');
  let mark = h.logMark();
  let res = await b.app.get('/app/', { headers: HTML });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?return_to=%2Fapp%2F/);
  await h.waitForLog(/ORGS00101: session for org org1 no longer valid/, { from: mark });

  // org delete: org3 with okta1 (auto-membership)
  await createOrg(h, 'org3', { displayName: 'Org Three' });
  await enableConn(h, 'org3', 'okta1', { autoMembership: true });
  const b3 = browser();
  r = await login(b3, { start: '/org3/', email: 'alice@org1.example.com' });
  assertServed(r, 'alice at /org3/');
  assert.equal(r.env.ORG_NAME, 'org3');
  await h.orgctlOk('org', 'delete', 'org3', '--yes');
  mark = h.logMark();
  res = await b3.app.get('/org3/', { headers: HTML });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?return_to=%2Forg3%2F&organization=org3/);
  await h.waitForLog(/ORGS00101: session for org org3 no longer valid/, { from: mark });
});

test('6: one browser signed in to org1 and org2 at once; login switches /app/', async () => {
  const b = browser();
  let r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  assertServed(r, 'carol at /org2/');
  r = await login(b, { start: '/org1/', connection: 'okta1', email: 'alice@org1.example.com' });
  assertServed(r, 'alice at /org1/');
  assert.ok(b.app.jar.get('orgs_sess_org1') && b.app.jar.get('orgs_sess_org2'));

  let res = await b.app.get('/org1/', { headers: HTML });
  assert.equal(res.status, 200);
  let env = parseEnv(res.body);
  assert.equal(env.ORG_NAME, 'org1');
  assert.equal(env.REMOTE_USER, 'alice@org1.example.com');
  res = await b.app.get('/org2/', { headers: HTML });
  assert.equal(res.status, 200);
  env = parseEnv(res.body);
  assert.equal(env.ORG_NAME, 'org2');
  assert.equal(env.REMOTE_USER, 'carol@org2.example.com');

  // /app/ follows the org of the last login (org1)
  res = await b.app.get('/app/', { headers: HTML });
  assert.match(res.body, /^ORG_NAME=org1$/m);

  // switch: login to org2 again (okta2 SSO, no password), /app/ is org2 now
  r = await login(b, { start: '/orgs/login?organization=org2&return_to=/app/' });
  assertServed(r, 'switch to org2');
  assert.ok(!r.idpFormShown, 'okta2 should have remembered carol');
  assert.equal(r.last.url, h.url('/app/'));
  assert.equal(r.env.ORG_NAME, 'org2');
  res = await b.app.get('/app/', { headers: HTML });
  assert.match(res.body, /^ORG_NAME=org2$/m);
  // org1 is still signed in
  res = await b.app.get('/org1/', { headers: HTML });
  assert.equal(res.status, 200);
  assert.match(res.body, /^ORG_NAME=org1$/m);
});

test('6b: a location fixed by an expression refuses requests where it gives no org name', async () => {
  const b = browser();
  const r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  assertServed(r, 'carol at /org2/');
  // the expression names org2: served with the org2 session
  let res = await b.app.get('/portal/', { headers: { ...HTML, 'x-portal-org': 'org2' } });
  assert.equal(res.status, 200);
  assert.match(res.body, /^ORG_NAME=org2$/m);
  // it names org1: not this session's org, so a login for org1
  res = await b.app.get('/portal/', { headers: { ...HTML, 'x-portal-org': 'org1' } });
  assert.equal(res.status, 302);
  assert.match(res.location, /organization=org1/);
  // no value, or not a name: refused, never "any org"
  for (const v of [undefined, 'Not A Name', 'org_0123456789abcdef']) {
    const mark = h.logMark();
    const headers = v === undefined ? HTML : { ...HTML, 'x-portal-org': v };
    res = await b.app.get('/portal/', { headers });
    assert.equal(res.status, 403, `X-Portal-Org ${v}`);
    assert.doesNotMatch(res.body, /ORG_NAME/);
    await h.waitForLog(/ORGS00106: OrgsOrganization did not evaluate to an organization name/, {
      from: mark,
    });
  }
});

test('7: logout ends the session in the store and goes to the OP end_session endpoint', async () => {
  const b = browser();
  const r = await login(b, { start: '/org2/', email: 'dave@my.example.com' });
  assertServed(r, 'dave at /org2/');
  const sid = b.app.jar.get('orgs_sess_org2').value;

  let mark = h.logMark();
  // the OP brings the browser back to the one registered post logout URI,
  // which goes on to return_to
  const out = await signOut(b.app, { idp: b.idp, organization: 'org2', returnTo: '/org1/' });
  const hops = describeHops(out.hops);
  assert.equal(out.hops[0].status, 302, hops);
  assert.ok(out.endSession, `no redirect to the OP\n${hops}`);
  const end = new URL(out.endSession);
  assert.equal(`${end.origin}${end.pathname}`, `${okta2.issuer}/session/end`);
  assert.ok(end.searchParams.get('id_token_hint'), 'id_token_hint');
  assert.equal(end.searchParams.get('post_logout_redirect_uri'), h.url('/orgs/logged-out'));
  assert.equal(end.searchParams.get('state'), '/org1/');
  assert.equal(end.searchParams.get('client_id'), okta2.clientId);
  // the cookies are cleared
  assert.ok(out.hops[0].setCookies.some((c) => /^orgs_sess_org2=;.*Max-Age=0/i.test(c)), hops);
  await h.waitForLog(/ORGS00230: user usr_\S+ signed out of org org2/, { from: mark });
  // the OP sent the browser back to the post logout URI, and on to return_to
  const back = out.hops.find((x) => x.url.startsWith(h.url('/orgs/logged-out?')));
  assert.ok(back, hops);
  assert.equal(back.status, 302, hops);
  assert.equal(back.location, h.url('/org1/'), hops);

  // the browser no longer has a session
  let res = await b.app.get('/org2/', { headers: HTML });
  assert.equal(res.status, 302);
  // replaying the old cookie: the session is gone from the store
  mark = h.logMark();
  res = await h.client().get('/org2/', { headers: { ...HTML, cookie: `orgs_sess_org2=${sid}; orgs_org=org2` } });
  assert.equal(res.status, 302);
  assert.match(res.location, /\/orgs\/login\?/);
  await h.waitForLog(/ORGS00101: session for org org2 no longer valid/, { from: mark });
});

test('7b: signing out of one org keeps the other org signed in, also for /app/', async () => {
  const b = browser();
  let r = await login(b, { start: '/org1/', connection: 'okta1', email: 'alice@org1.example.com' });
  assertServed(r, 'alice at /org1/');
  r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  assertServed(r, 'carol at /org2/');
  // /app/ follows the last login: org2
  let res = await b.app.get('/app/', { headers: HTML });
  assert.match(res.body, /^ORG_NAME=org2$/m);

  const mark = h.logMark();
  const out = await signOut(b.app, { idp: b.idp, organization: 'org1' });
  assert.equal(out.hops[0].status, 302, describeHops(out.hops));
  await h.waitForLog(/ORGS00230: user usr_\S+ signed out of org org1/, { from: mark });
  res = await b.app.get('/org1/', { headers: HTML });
  assert.equal(res.status, 302, 'org1 is signed out');
  res = await b.app.get('/org2/', { headers: HTML });
  assert.equal(res.status, 200, 'org2 is still signed in');
  // /app/ pointed at org2, which is still signed in: it must keep serving
  res = await b.app.get('/app/', { headers: HTML });
  assert.equal(res.status, 200, `/app/ lost org2 after signing out of org1: ${res.status} ${res.location}`);
  assert.match(res.body, /^ORG_NAME=org2$/m);
});

test('8: the chooser lists both connections; a connection not enabled is refused before any IdP', async () => {
  const c = h.client();
  let res = await c.get('/orgs/login?organization=org1&return_to=/org1/', { headers: HTML });
  assert.equal(res.status, 200);
  assert.match(res.body, /id="org-name">Org One</);
  const links = chooserLinks(res.body);
  assert.deepEqual(
    links.map((l) => [l.name, l.label]).sort(),
    [
      ['okta1', 'Okta of Org One'],
      ['okta2', 'Okta of Org Two'],
    ],
  );
  for (const l of links) {
    const u = new URL(l.href, h.baseURL);
    assert.equal(u.pathname, '/orgs/login');
    assert.equal(u.searchParams.get('connection'), l.name);
    assert.equal(u.searchParams.get('organization'), 'org1');
    assert.equal(u.searchParams.get('return_to'), '/org1/');
  }

  // okta1 is not enabled on org2
  const mark = h.logMark();
  res = await c.get('/orgs/login?organization=org2&connection=okta1', { headers: HTML });
  assert.equal(res.status, 403);
  assert.equal(res.location, null);
  assert.equal(errorCode(res.body), 'access_denied');
  // no pending login was started: no browser cookie, no redirect logged
  assert.ok(!res.setCookies.some((x) => x.startsWith('orgs_browser=')), res.setCookies.join('\n'));
  await h.waitForLog(/ORGS00212: login: connection not enabled on org org2/, { from: mark });
  assert.doesNotMatch(h.errorLog(mark), /ORGS00206/);

  // a connection that does not exist at all: the same answer
  res = await c.get('/orgs/login?organization=org2&connection=nope', { headers: HTML });
  assert.equal(res.status, 403);
  assert.equal(errorCode(res.body), 'access_denied');
});

test('9: OrgsUnauthenticated 401 and XHR requests get 401, not a redirect', async () => {
  const c = h.client();
  let mark = h.logMark();
  let res = await c.get('/api/', { headers: HTML });
  assert.equal(res.status, 401);
  assert.equal(res.location, null);
  assert.match(res.headers['www-authenticate'] || '', /^Orgs login="\/orgs\/login"/);
  await h.waitForLog(/ORGS00201: no valid session: answering 401/, { from: mark });

  mark = h.logMark();
  res = await c.get('/app/', { headers: { ...HTML, 'x-requested-with': 'XMLHttpRequest' } });
  assert.equal(res.status, 401);
  assert.equal(res.location, null);
  await h.waitForLog(/ORGS00201/, { from: mark });

  // a browser navigation to the same place is redirected
  mark = h.logMark();
  res = await c.get('/app/', { headers: HTML });
  assert.equal(res.status, 302);
  await h.waitForLog(/ORGS00202: no valid session: redirecting/, { from: mark });

  // signed in, /api/ serves
  const b = browser();
  const r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  assertServed(r, 'carol');
  res = await b.app.get('/api/', { headers: { 'x-requested-with': 'XMLHttpRequest' } });
  assert.equal(res.status, 200);
  assert.match(res.body, /^ORG_NAME=org2$/m);
});

test('10: every login issues a new session id; the previous one stops working', async () => {
  const b = browser();
  let r = await login(b, { start: '/org2/', email: 'carol@org2.example.com' });
  assertServed(r, 'first login');
  const first = b.app.jar.get('orgs_sess_org2').value;
  r = await login(b, { start: '/orgs/login?organization=org2&return_to=/org2/' });
  assertServed(r, 'second login');
  const second = b.app.jar.get('orgs_sess_org2').value;
  assert.notEqual(first, second);
  assert.match(second, /^[A-Za-z0-9_-]{43}$/);

  const mark = h.logMark();
  const res = await h.client().get('/org2/', { headers: { ...HTML, cookie: `orgs_sess_org2=${first}` } });
  assert.equal(res.status, 302);
  await h.waitForLog(/ORGS00101: session for org org2 no longer valid/, { from: mark });
  const ok = await h.client().get('/org2/', { headers: { ...HTML, cookie: `orgs_sess_org2=${second}` } });
  assert.equal(ok.status, 200);
});
