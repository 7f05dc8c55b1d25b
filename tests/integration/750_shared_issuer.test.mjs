// Layer 700: auto-membership on an issuer that serves many companies.
// The hostile OP (tests/idp/rogue.mjs) stands for such an issuer: it signs
// in whoever asks, with the claims the test sets. With a condition on the
// enabled connection, only accounts meeting it join the org:
// (a) --require-claim hd=acme.example: an account with another hd is
//     refused (403, ORGS00226 "auto-membership condition not met"), one
//     with hd=acme.example joins (ORGS00225);
// (b) --require-email-domain: a trusted email of the org's domain joins, an
//     email of another domain is refused;
// (c) orgctl warns when auto-membership is enabled on a known shared issuer
//     without a condition (tests/cli/test_orgctl.sh covers it too).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Httpd } from './lib/httpd.mjs';
import { Client } from './lib/client.mjs';
import { Rogue } from './lib/rogue.mjs';
import { ENV_CGI, describeHops, errorCode, memberList, signIn } from './lib/flow.mjs';

const CLIENT_ID = 'mod-auth-orgs-shared';
const CLIENT_SECRET = 'shared-issuer-secret-0123456789';

let h;
let op;

before(async () => {
  op = await Rogue.start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  h = await Httpd.create({
    name: 'shared',
    body: `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>`,
  });
  h.cgi('app/index.cgi', ENV_CGI);
  const secretFile = h.file('conf/rogue.secret', `${CLIENT_SECRET}\n`, 0o600);
  await h.orgctlOk('org', 'create', 'acme', '--domain', 'acme.example');
  await h.orgctlOk('conn', 'create', 'google', '--issuer', op.issuer, '--client-id', CLIENT_ID,
    '--client-secret-file', secretFile);
  await h.orgctlOk('org', 'enable-conn', 'acme', 'google', '--auto-membership',
    '--require-claim', 'hd=acme.example');
  await h.start();
});

after(async () => {
  await h?.close();
  await op?.stop();
});

async function login(sub, email, claims = {}) {
  await op.mode('good', { sub, email, claims });
  const mark = h.logMark();
  const r = await signIn(h.client(), {
    idp: new Client(),
    start: '/orgs/login?organization=acme&return_to=/app/',
  });
  return { r, mark };
}

test('(a) --require-claim: another company\'s account is refused, the org\'s own joins', async () => {
  const out = await login('outsider-1', 'eve@gmail.example', { hd: 'gmail.example' });
  assert.equal(out.r.stage, 'error', describeHops(out.r.hops));
  assert.equal(out.r.last.status, 403);
  assert.equal(errorCode(out.r.last.body), 'access_denied');
  await h.waitForLog(/ORGS00226: access_denied: user usr_\w+ of connection google is not a member of org acme \(auto-membership condition not met\)/, { from: out.mark });

  const none = await login('outsider-2', 'mallory@example.net');
  assert.equal(none.r.last.status, 403, 'no hd claim at all must not admit');

  const ok = await login('insider-1', 'alice@acme.example', { hd: 'acme.example' });
  assert.equal(ok.r.stage, 'app', describeHops(ok.r.hops));
  assert.equal(ok.r.env.ORG_NAME, 'acme');
  await h.waitForLog(/ORGS00225: user usr_\w+ joined org acme by auto-membership of google/, { from: ok.mark });
  const m = JSON.stringify(await memberList(h, 'acme'));
  assert.match(m, /alice@acme\.example/);
  assert.doesNotMatch(m, /eve@gmail|mallory@/);
});

test('(b) --require-email-domain: only a trusted email of the org\'s domains joins', async () => {
  await h.orgctlOk('org', 'enable-conn', 'acme', 'google', '--auto-membership',
    '--require-email-domain');
  const out = await login('outsider-3', 'bob@elsewhere.example');
  assert.equal(out.r.last.status, 403, describeHops(out.r.hops));
  await h.waitForLog(/ORGS00226: .*\(auto-membership condition not met\)/, { from: out.mark });
  const ok = await login('insider-2', 'carol@acme.example');
  assert.equal(ok.r.stage, 'app', describeHops(ok.r.hops));
  assert.equal(ok.r.env.ORG_NAME, 'acme');
});

test('(c) orgctl warns about auto-membership without a condition on a shared issuer', async () => {
  const secretFile = h.file('conf/g.secret', 'x\n', 0o600);
  await h.orgctlOk('conn', 'create', 'google-real', '--no-check', '--issuer', 'https://accounts.google.com',
    '--client-id', 'g', '--client-secret-file', secretFile);
  const r = await h.orgctl('org', 'enable-conn', 'acme', 'google-real', '--auto-membership');
  assert.equal(r.code, 0);
  assert.match(r.stderr, /warning: .*shared by many companies/);
  const quiet = await h.orgctl('org', 'enable-conn', 'acme', 'google-real', '--auto-membership',
    '--require-claim', 'hd=acme.example');
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
});
