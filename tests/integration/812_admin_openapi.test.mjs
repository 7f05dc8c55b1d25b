// Layer 812: docs/openapi.yaml is a valid OpenAPI 3.1 document (checked by
// @apidevtools/swagger-parser) and describes exactly the routes the
// handler serves: the same (method, path) pairs as src/core/admin.c's
// route table, each answered by the running handler (never its 404 for an
// unknown path), every other method of a path answered 405 with Allow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import SwaggerParser from '@apidevtools/swagger-parser';

import { Httpd } from './lib/httpd.mjs';
import { adminRoutes } from './lib/admin.mjs';

const SPEC = join(dirname(fileURLToPath(import.meta.url)), '../../docs/openapi.yaml');
const METHODS = ['get', 'post', 'patch', 'delete', 'put'];
let h;
let token;

before(async () => {
  h = await Httpd.create({ name: 'admin-openapi', body: `<Location /orgs/api/v1>
    SetHandler orgs-admin
    AuthType orgs
    Require org-api-token
</Location>` });
  token = await h.orgctlOk('token', 'create');
  await h.start();
});

after(async () => {
  await h?.close();
});

test('docs/openapi.yaml is valid OpenAPI 3.1', async () => {
  const api = await SwaggerParser.validate(SPEC);
  assert.equal(api.openapi, '3.1.0');
});

test('the spec and the route table list the same operations', async () => {
  const api = await SwaggerParser.parse(SPEC);
  const inSpec = [];
  for (const [path, item] of Object.entries(api.paths)) {
    for (const m of METHODS) if (item[m]) inSpec.push(`${m.toUpperCase()} ${path} ${item[m]['x-org-admin'] === true}`);
  }
  const served = adminRoutes().map((r) => `${r.method} ${r.pattern} ${r.orgAdmin}`);
  assert.ok(served.length >= 30);
  assert.deepEqual(inSpec.sort(), served.sort());
});

test('the running handler serves every path of the spec, and only its methods', async () => {
  const api = await SwaggerParser.parse(SPEC);
  const c = h.client();
  for (const [path, item] of Object.entries(api.paths)) {
    const concrete = path.replace(/\{[a-z_]+\}/g, (p) => (p === '{domain}' ? 'x.example' : 'zz-none'));
    const allowed = METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
    for (const m of METHODS) {
      const r = await c.request(m.toUpperCase(), `/orgs/api/v1${concrete}`, {
        headers: { authorization: `Bearer ${token}` },
        json: m === 'get' ? undefined : {},
      });
      const body = JSON.parse(r.body);
      if (allowed.includes(m.toUpperCase())) {
        assert.notEqual(r.status, 405, `${m} ${path}`);
        assert.ok(!/no such resource/.test(body.message ?? ''), `${m} ${path}: ${r.body}`);
      } else {
        assert.equal(r.status, 405, `${m} ${path}: ${r.body}`);
        assert.deepEqual(r.headers.allow.split(', ').sort(), allowed.sort());
      }
    }
  }
});
