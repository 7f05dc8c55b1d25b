// Layer 920: operations. SetHandler orgs-status answers a JSON health
// document and, with ?format=prometheus, counters that move with real
// sign-ins, denials and IdP failures (kept in shared memory across the
// children); the documented LogFormat logs the org and the user; httpd
// refuses to start with a key that is not the store's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { startOp } from './lib/idp.mjs';
import { ENV_CGI, describeHops, seed, signIn } from './lib/flow.mjs';
import { sleep } from './lib/proc.mjs';

let h;
let op;

const body = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location /admin/>
    AuthType orgs
    AuthzSendForbiddenOnFailure On
    Require org-role admin
</Location>
<Location /orgs-status>
    SetHandler orgs-status
</Location>
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\" %{ORG_NAME}e %{ORG_USER_ID}e" orgs_combined
CustomLog {{LOGS}}/orgs_access_log orgs_combined`;

before(async () => {
  h = await Httpd.create({ name: 'status', body });
  for (const dir of ['app', 'admin']) h.cgi(`${dir}/index.cgi`, ENV_CGI);
  op = await startOp({
    name: 'okta1',
    redirectUri: `${h.baseURL}/orgs/callback`,
    users: [{ email: 'alice@org1.example.com', sub: 'okta1-alice', name: 'Alice' }],
  });
  await seed(h, {
    orgs: { org1: { domains: ['org1.example.com'] }, org2: {} },
    conns: [{ op }],
    enable: [['org1', 'okta1', { autoMembership: true }]],
  });
  // a connection whose provider is down: its logins fail at discovery
  const secret = h.file('conf/down.secret', 'down-secret\n', 0o600);
  await h.orgctlOk('conn', 'create', 'down', '--issuer', 'http://127.0.0.1:9', '--client-id', 'c',
    '--client-secret-file', secret, '--no-check');
  await h.orgctlOk('org', 'enable-conn', 'org2', 'down');
  await h.start();
});

after(async () => {
  await h?.close();
  await op?.stop();
});

async function status(query = '') {
  const r = await h.client().get(`/orgs-status${query}`);
  return r;
}

function counter(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

test('orgs-status: JSON health with the store figures', async () => {
  const r = await status();
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /application\/json/);
  const j = JSON.parse(r.body);
  assert.equal(j.status, 'ok');
  assert.equal(j.store.ok, true);
  assert.equal(j.store.orgs, 2);
  assert.equal(j.store.connections, 2);
  assert.ok(j.store.format >= 2);
  assert.ok(j.store.used_bytes > 0 && j.store.size_bytes >= j.store.used_bytes);
  assert.equal(typeof j.counters.signins, 'number');
});

test('orgs-status: Prometheus counters move with sign-ins, denials and IdP errors', async () => {
  const before0 = (await status('?format=prometheus')).body;
  const signins0 = counter(before0, 'orgs_signins_total');
  const denied0 = counter(before0, 'orgs_denials_total', '{reason="require"}');
  assert.equal(typeof signins0, 'number', before0);
  assert.match(before0, /# TYPE orgs_signins_total counter/);

  // a sign-in, then a page whose Require the user does not meet
  const app = h.client();
  const r = await signIn(app, { start: '/app/', idp: new Client(), organization: 'org1', email: 'alice@org1.example.com' });
  assert.equal(r.last.status, 200, describeHops(r.hops));
  const admin = await app.get('/admin/');
  assert.equal(admin.status, 403);
  await h.waitForLog(/ORGS00401/);
  // a login through the connection whose provider is down
  const mark = h.logMark();
  const down = await h.client({ headers: { accept: 'text/html' } }).get('/orgs/login?organization=org2&return_to=%2Fapp%2F');
  assert.equal(down.status, 502, down.body);
  await h.waitForLog(/ORGS00204: connection down/, { from: mark });

  const after0 = (await status('?format=prometheus')).body;
  assert.equal(counter(after0, 'orgs_signins_total'), signins0 + 1, after0);
  assert.equal(counter(after0, 'orgs_denials_total', '{reason="require"}'), denied0 + 1, after0);
  // no connection (a customer's name, often) is named by default: one sum
  const idpErrors = counter(after0, 'orgs_idp_errors_total');
  assert.ok(idpErrors >= 1, after0);
  assert.doesNotMatch(after0, /connection="/, after0);
  assert.equal(counter(after0, 'orgs_store_format'), JSON.parse((await status()).body).store.format);
  assert.ok(counter(after0, 'orgs_sessions') >= 1, after0);
  assert.equal(typeof counter(after0, 'orgs_pending_logins'), 'number', after0);
  assert.ok(counter(after0, 'orgs_store_used_bytes') > 0);

  // the documented LogFormat: the org name and the user id of the request
  const log = fs.readFileSync(`${h.logs}/orgs_access_log`, 'utf8');
  assert.match(log, /"GET \/app\/ HTTP\/1\.1" 200 .* org1 usr_[A-Za-z0-9]{16}\n/, log);
  // OrgsStatusConnectionNames On breaks it down by connection; the counters
  // survive the graceful restart (the same shared-memory segment, checked
  // by its header), and one connection has one series
  h.writeConf(`${body}\nOrgsStatusConnectionNames On`);
  await h.graceful({ waitMs: 1500 });
  const named = (await status('?format=prometheus')).body;
  assert.equal(counter(named, 'orgs_idp_errors_total', '{connection="down"}'), idpErrors, named);
  assert.equal(named.split('\n').filter((l) => l.startsWith('orgs_idp_errors_total{connection="down"}')).length, 1);
  assert.equal(counter(named, 'orgs_signins_total'), signins0 + 1, named);
  h.writeConf(body);
  await h.graceful({ waitMs: 1500 });
});

test('orgs-status: a bad format is a 400, a POST a 405', async () => {
  assert.equal((await status('?format=xml')).status, 400);
  const r = await h.client().post('/orgs-status', { body: '' });
  assert.equal(r.status, 405);
});

test('httpd refuses to start with a key that is not the store\'s', async () => {
  // a second server on the same store with a key of its own
  const other = await Httpd.create({
    name: 'wrong-key',
    serverOrgs: `OrgsStore ${h.storeDir}\nOrgsCryptoKey file:{{KEY}}`,
  });
  try {
    // httpd opens its sockets before the check: start() may see the port
    // for a moment, so the proof is the log line and the exit
    await other.start({ timeoutMs: 8000 }).catch(() => {});
    await other.waitForLog(/ORGS00630: OrgsStore .*OrgsCryptoKey is not this store's key/, { timeoutMs: 8000 });
    const child = other.child;
    let gone = !child;
    child?.exited.then(() => (gone = true));
    for (let i = 0; i < 100 && !gone; i++) await sleep(50);
    assert.ok(gone, 'httpd kept running with another key');
  } finally {
    await other.close();
  }
});
