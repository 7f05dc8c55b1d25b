// Where the things under test are. Every path can be overridden from the
// environment so the suite runs against an out-of-tree build.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const SRC_DIR = resolve(here, '../../..');
export const INTEGRATION_DIR = resolve(here, '..');
// Build directory (configure was run there); default: the source tree.
export const BUILD_DIR = resolve(process.env.BUILD_DIR || SRC_DIR);
export const MODULE_SO = resolve(
  process.env.MOD_AUTH_ORGS_SO || join(BUILD_DIR, '.libs/mod_auth_orgs.so'),
);
export const ORGCTL = resolve(process.env.ORGCTL || join(BUILD_DIR, 'orgctl'));
export const APACHE2 = process.env.APACHE2 || '/usr/sbin/apache2';
export const APACHE_MODULES_DIR = process.env.APACHE_MODULES_DIR || '/usr/lib/apache2/modules';
// httpd's children run as this user (Debian: www-data).
export const HTTPD_USER = process.env.HTTPD_USER || 'www-data';
export const HTTPD_GROUP = process.env.HTTPD_GROUP || 'www-data';
