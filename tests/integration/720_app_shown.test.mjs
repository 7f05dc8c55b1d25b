// Layer 700: what the app behind and the caches in front are shown.
// (a) The module's cookies (orgs_sess_<org>, orgs_org, orgs_browser) never
//     reach a CGI's HTTP_COOKIE nor a proxied backend's Cookie; the app's
//     own cookies do (OrgsStripCookies, default On).
// (b) With mod_cache (CacheEnable disk, httpd's default CacheQuickHandler
//     On), an org admin's page is not served to an anonymous client nor to
//     a member without the role; authenticated answers carry
//     Cache-Control: private and Vary: Cookie (OrgsPrivateResponses).
// (c) Both opt-outs (Off) do what they say.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { freePort } from './lib/proc.mjs';
import { ENV_CGI, describeHops, parseEnv, seed, signIn } from './lib/flow.mjs';

const HTML = { accept: 'text/html' };

// The admin's page: who it was made for, cacheable for 5 minutes as many
// apps answer (the app does not know about shared caches).
const ADMIN_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\nCache-Control: max-age=300\\r\\n\\r\\n'
printf 'admin page for %s roles=%s\\n' "$REMOTE_USER" "$ORG_ROLES"
`;

const body = (backendPort, extra = '') => `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
CacheRoot {{ROOT}}/cache
CacheHeader On
CacheEnable disk /admin/
CacheEnable disk /public/
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /admin/>
    AuthType orgs
    Require org-role admin
</Location>
<Location /proxied/>
    AuthType orgs
    Require org-member
    ProxyPass http://127.0.0.1:${backendPort}/
</Location>
${extra}`;

let backend;
let backendPort;
let lastBackendCookie;
let okta1;

async function startBackend() {
  backendPort = await freePort();
  backend = http.createServer((req, res) => {
    lastBackendCookie = req.headers.cookie ?? null;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
  });
  await new Promise((resolve) => backend.listen(backendPort, '127.0.0.1', resolve));
}

function createServer(name, extra = '') {
  return Httpd.create({
    name,
    body: body(backendPort, extra),
    modules: ['proxy', 'proxy_http', 'cache', 'cache_disk'],
  });
}

async function setUp(h) {
  const cache = join(h.root, 'cache');
  fs.mkdirSync(cache, { mode: 0o755 });
  fs.chownSync(cache, h.uid, h.gid);
  for (const d of ['open', 'app', 'off']) h.cgi(`${d}/index.cgi`, ENV_CGI);
  h.cgi('admin/page.cgi', ADMIN_CGI);
  h.cgi('public/page.cgi', ADMIN_CGI.replace('admin page', 'public page'));
  await seed(h, {
    orgs: { org1: { displayName: 'Org One' } },
    conns: [{ op: okta1 }],
    enable: [['org1', 'okta1', { autoMembership: true }]],
  });
  await h.orgctlOk(
    'member', 'add', 'org1', '--connection', 'okta1', '--email', 'alice@org1.example.com',
    '--role', 'admin',
  );
  await h.start();
  return h;
}

async function signedIn(h, email) {
  const app = h.client();
  const r = await signIn(app, {
    idp: new Client(),
    start: '/orgs/login?organization=org1&return_to=/app/',
    email,
  });
  assert.equal(r.stage, 'app', describeHops(r.hops));
  return { app, env: r.env };
}

let h;
let h2;

before(async () => {
  await startBackend();
  h = await createServer('appshown');
  // the opt-outs, on a server of their own (started in its test only)
  h2 = await createServer(
    'appshown-off',
    `<Location /off/>
    AuthType orgs
    Require org-member
    OrgsStripCookies Off
    OrgsPrivateResponses Off
</Location>`,
  );
  okta1 = await startOp({
    name: 'okta1',
    redirectUri: [`${h.baseURL}/orgs/callback`, `${h2.baseURL}/orgs/callback`],
    users: [
      { email: 'alice@org1.example.com', sub: 'okta1-alice', name: 'Alice Admin' },
      { email: 'bob@org1.example.com', sub: 'okta1-bob', name: 'Bob Member' },
    ],
  });
  await setUp(h);
});

after(async () => {
  await h?.close();
  await h2?.close();
  await okta1?.stop();
  await new Promise((resolve) => (backend ? backend.close(resolve) : resolve()));
});

test('(a) a protected CGI sees the app cookies, never the module cookies', async () => {
  const { app, env } = await signedIn(h, 'alice@org1.example.com');
  assert.doesNotMatch(env.HTTP_COOKIE ?? '', /orgs_/, 'the first page after sign-in');
  const mark = h.logMark();
  app.jar.set('app_pref', 'dark');
  const res = await app.get('/app/', { headers: HTML });
  assert.equal(res.status, 200);
  const seen = parseEnv(res.body).HTTP_COOKIE ?? '';
  assert.match(seen, /app_pref=dark/, 'the app cookie must go through');
  assert.doesNotMatch(seen, /orgs_/, `module cookie reached the CGI: ${seen}`);
  assert.equal(parseEnv(res.body).ORG_NAME, 'org1', 'still signed in');
  await h.waitForLog(/ORGS00550/, { from: mark });
});

test('(a) an unprotected CGI does not see them either', async () => {
  const { app } = await signedIn(h, 'alice@org1.example.com');
  const res = await app.get('/open/', { headers: HTML });
  assert.equal(res.status, 200);
  assert.doesNotMatch(parseEnv(res.body).HTTP_COOKIE ?? '', /orgs_/);
});

test('(a) a proxied backend gets no module cookie', async () => {
  const { app } = await signedIn(h, 'alice@org1.example.com');
  lastBackendCookie = undefined;
  app.jar.set('app_pref', 'light');
  const res = await app.get('/proxied/x', { headers: HTML });
  assert.equal(res.status, 200, res.body);
  assert.notEqual(lastBackendCookie, undefined, 'the backend was not reached');
  assert.match(lastBackendCookie ?? '', /app_pref=light/);
  assert.doesNotMatch(lastBackendCookie ?? '', /orgs_/, `backend saw ${lastBackendCookie}`);
});

test('(b) mod_cache does not hand the admin page to an anonymous client or a non-admin', async () => {
  // the cache works on this server: an unprotected page is served from it
  const anon0 = new Client({ base: h.baseURL });
  const p1 = await anon0.get('/public/page.cgi', { headers: HTML });
  const p2 = await anon0.get('/public/page.cgi', { headers: HTML });
  assert.equal(p1.status, 200);
  assert.equal(p2.status, 200);
  assert.match(p2.headers['x-cache'] ?? '', /HIT/, 'the cache does not work on this server');

  const { app } = await signedIn(h, 'alice@org1.example.com');
  const a1 = await app.get('/admin/page.cgi', { headers: HTML });
  assert.equal(a1.status, 200);
  assert.match(a1.body, /admin page for alice@org1\.example\.com roles=admin/);
  const a2 = await app.get('/admin/page.cgi', { headers: HTML });

  const anon = new Client({ base: h.baseURL });
  const r = await anon.get('/admin/page.cgi', { headers: HTML });
  assert.notEqual(r.status, 200, `anonymous client got the admin page: ${r.body}`);
  assert.doesNotMatch(r.body, /admin page for/);
  assert.equal(r.status, 302);

  const { app: bob } = await signedIn(h, 'bob@org1.example.com');
  const b = await bob.get('/admin/page.cgi', { headers: HTML });
  assert.doesNotMatch(b.body, /admin page for alice/, 'a member without the role got it');
  assert.equal(b.status, 401); // httpd answers an authz denial with 401 (AuthzSendForbiddenOnFailure Off)
  assert.match(h.errorLog(), /ORGS00401/);

  // what caches in front are told, and httpd's own cache kept nothing
  assert.match(a1.headers['cache-control'] ?? '', /private/);
  assert.match(a1.headers.vary ?? '', /cookie/i);
  assert.doesNotMatch(a2.headers['x-cache'] ?? '', /HIT/, 'the admin page was cached');
});

test('(c) OrgsStripCookies Off and OrgsPrivateResponses Off keep the old behaviour', async () => {
  await setUp(h2);
  {
    const { app } = await signedIn(h2, 'alice@org1.example.com');
    const res = await app.get('/off/', { headers: HTML });
    assert.equal(res.status, 200);
    assert.match(parseEnv(res.body).HTTP_COOKIE ?? '', /orgs_sess_org1=/);
    assert.doesNotMatch(res.headers['cache-control'] ?? '', /private/);
    // the default still applies next door
    const on = await app.get('/app/', { headers: HTML });
    assert.doesNotMatch(parseEnv(on.body).HTTP_COOKIE ?? '', /orgs_/);
    assert.match(on.headers['cache-control'] ?? '', /private/);
  }
});
