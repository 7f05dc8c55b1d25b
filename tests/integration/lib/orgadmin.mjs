// What the tests of an org's own admin on the admin API share: an httpd
// whose API admits an API token or the org role admin, two IdPs (okta1,
// okta2) with one org each (org1, org2), members added with roles by
// orgctl, sign-ins, and JSON calls to the API.
import assert from 'node:assert/strict';

import { Client } from './client.mjs';
import { describeHops, seed, signIn } from './flow.mjs';
import { startOp } from './idp.mjs';

export const ADMIN_BASE = '/orgs/api/v1';

// The site: a protected app under /app/, the admin API under ADMIN_BASE.
export const ORG_ADMIN_BODY = `<Directory "{{HTDOCS}}">
    DirectoryIndex index.cgi index.html
</Directory>
<Location /app/>
    AuthType orgs
    Require org-member
</Location>
<Location ${ADMIN_BASE}>
    SetHandler orgs-admin
    AuthType orgs
    OrgsUnauthenticated 401
    AuthzSendForbiddenOnFailure On
    <RequireAny>
        Require org-api-token
        Require org-role admin
    </RequireAny>
</Location>`;

// The header a browser's write must carry (CSRF).
export const XRW = { 'x-requested-with': 'XMLHttpRequest' };

// One API call as client: { status, body (parsed JSON or null), text }.
export async function adminApi(client, method, path, { json, headers = {} } = {}) {
  const r = await client.request(method, `${ADMIN_BASE}${path}`, { json, headers: { accept: 'application/json', ...headers } });
  let parsed = null;
  try {
    parsed = r.body ? JSON.parse(r.body) : null;
  } catch {
    parsed = null;
  }
  return { status: r.status, body: parsed, text: r.body };
}

// Starts okta1 and okta2 with their users, and makes org1 (on okta1) and
// org2 (on okta2), as orgs describes them (flow.mjs seed). The OPs and
// the orgs' ids.
export async function startTwoOrgs(h, { users1, users2, orgs = { org1: {}, org2: {} } }) {
  const redirectUri = `${h.baseURL}/orgs/callback`;
  const [okta1, okta2] = await Promise.all([
    startOp({ name: 'okta1', redirectUri, users: users1 }),
    startOp({ name: 'okta2', redirectUri, users: users2 }),
  ]);
  const { orgIds } = await seed(h, {
    orgs,
    conns: [{ op: okta1 }, { op: okta2 }],
    enable: [['org1', 'okta1', {}], ['org2', 'okta2', {}]],
  });
  return { okta1, okta2, orgIds };
}

// orgctl member add of the user email of conn, with roles: the user's id.
export async function memberAdd(h, org, conn, email, roles = []) {
  const out = await h.orgctlOk('member', 'add', org, '--connection', conn, '--email', email, ...roles.flatMap((r) => ['--role', r]));
  return out.split(/\s+/).find((w) => w.startsWith('usr_'));
}

// Signs email in to org through op: the signed-in client. A failure shows
// the hops and the last error-log lines that match logs.
export async function signInAs(h, op, org, email, { logs = /ORGS00[2-5]/ } = {}) {
  const app = h.client();
  const r = await signIn(app, { idp: new Client(), start: `/orgs/login?organization=${org}&connection=${op}&return_to=/app/`, email });
  assert.equal(r.stage, 'app', `${email} could not sign in\n${describeHops(r.hops)}\n${h.errorLog().split('\n').filter((l) => logs.test(l)).slice(-5).join('\n')}`);
  return app;
}
