// The admin API's route table as the handler serves it: the rows of
// src/core/admin.c's `routes` (method, pattern, open to org admins).
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function adminRoutes() {
  const src = fs.readFileSync(join(here, '../../../src/core/admin.c'), 'utf8');
  const table = src.slice(src.indexOf('static const route_t routes[]'), src.indexOf('#define NROUTES'));
  return [...table.matchAll(/\{"(GET|POST|PATCH|DELETE)", "(\/[^"]*)", adm_\w+, (0|R_ORG)\}/g)]
    .map((m) => ({ method: m[1], pattern: m[2], orgAdmin: m[3] === 'R_ORG' }));
}
