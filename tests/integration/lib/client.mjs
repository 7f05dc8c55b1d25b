// A small browser-like HTTP client: a cookie jar, no automatic redirects
// (like fetch's redirect: 'manual', but the Location header stays visible),
// any Host header, raw bodies. Follows redirects only when asked.
//
//   const c = new Client({ base: h.baseURL });
//   const r = await c.get('/app/');            // r.status, r.headers, r.location, r.body
//   const chain = await c.follow('/app/');     // every hop until a non-redirect
//   await c.post('/orgs/login', { form: { organization: 'org1' } });
import http from 'node:http';
import https from 'node:https';

// ---- cookies --------------------------------------------------------------

function parseSetCookie(header, url) {
  const parts = header.split(';');
  const [nv, ...attrs] = parts;
  const eq = nv.indexOf('=');
  if (eq < 1) return null;
  const c = {
    name: nv.slice(0, eq).trim(),
    value: nv.slice(eq + 1).trim(),
    domain: url.hostname,
    hostOnly: true,
    path: '/',
    expires: null,
    secure: false,
    httpOnly: false,
    sameSite: null,
    raw: header,
  };
  let defaultPath = url.pathname.replace(/\/[^/]*$/, '') || '/';
  let pathSet = false;
  for (const a of attrs) {
    const i = a.indexOf('=');
    const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? '' : a.slice(i + 1).trim();
    if (k === 'path' && v.startsWith('/')) {
      c.path = v;
      pathSet = true;
    } else if (k === 'domain' && v) {
      c.domain = v.replace(/^\./, '').toLowerCase();
      c.hostOnly = false;
    } else if (k === 'max-age') {
      c.expires = Date.now() + Number(v) * 1000;
    } else if (k === 'expires' && c.expires === null) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) c.expires = t;
    } else if (k === 'secure') c.secure = true;
    else if (k === 'httponly') c.httpOnly = true;
    else if (k === 'samesite') c.sameSite = v;
  }
  if (!pathSet) c.path = defaultPath;
  return c;
}

function domainMatch(host, c) {
  if (c.hostOnly) return host === c.domain;
  return host === c.domain || host.endsWith('.' + c.domain);
}

function pathMatch(path, cpath) {
  if (path === cpath) return true;
  if (!path.startsWith(cpath)) return false;
  return cpath.endsWith('/') || path[cpath.length] === '/';
}

export class CookieJar {
  constructor() {
    this.cookies = [];
  }

  // Stores the Set-Cookie headers of a response from url.
  store(url, setCookies) {
    const u = new URL(url);
    for (const h of setCookies || []) {
      const c = parseSetCookie(h, u);
      if (!c) continue;
      this.cookies = this.cookies.filter(
        (o) => !(o.name === c.name && o.domain === c.domain && o.path === c.path),
      );
      if (c.expires === null || c.expires > Date.now()) this.cookies.push(c);
    }
  }

  // Cookies a browser would send to url. Loopback counts as a secure
  // context (as in browsers), so Secure cookies go over http there.
  matching(url) {
    const u = new URL(url);
    const now = Date.now();
    this.cookies = this.cookies.filter((c) => c.expires === null || c.expires > now);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    return this.cookies
      .filter((c) => domainMatch(u.hostname, c) && pathMatch(u.pathname, c.path))
      .filter((c) => !c.secure || u.protocol === 'https:' || loopback)
      .sort((a, b) => b.path.length - a.path.length);
  }

  header(url) {
    return this.matching(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  get(name) {
    return this.cookies.find((c) => c.name === name);
  }

  set(name, value, { domain = '127.0.0.1', path = '/' } = {}) {
    this.cookies = this.cookies.filter((c) => !(c.name === name && c.domain === domain));
    this.cookies.push({ name, value, domain, hostOnly: true, path, expires: null });
  }

  delete(name) {
    this.cookies = this.cookies.filter((c) => c.name !== name);
  }

  clear() {
    this.cookies = [];
  }
}

// ---- requests -------------------------------------------------------------

function lowerHeaders(raw) {
  const h = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k === 'set-cookie') (h[k] ||= []).push(raw[i + 1]);
    else h[k] = k in h ? `${h[k]}, ${raw[i + 1]}` : raw[i + 1];
  }
  return h;
}

export class Client {
  // opts: base (URL for relative paths), headers (sent on every request),
  // jar (share a CookieJar), timeoutMs. Like a current browser, every
  // request carries Sec-Fetch-Site (same-origin unless a header sets it; a
  // header given as null is not sent at all, e.g. to act as an old browser).
  constructor({ base, headers = {}, jar, timeoutMs = 15000 } = {}) {
    this.base = base;
    this.headers = headers;
    this.jar = jar || new CookieJar();
    this.timeoutMs = timeoutMs;
  }

  resolve(url) {
    return new URL(url, this.base).toString();
  }

  // opts: headers, body (string|Buffer), form (object -> urlencoded),
  // json (object), cookies: false to send none, cookieCheck: 'manual' to
  // see the login's cookie self-redirect instead of following it.
  // Returns { status, headers, setCookies, location, body, url, json() }.
  //
  // A login start from a browser that has not shown the module's cookie
  // is answered with that cookie and a redirect to the same login
  // (…&cookie_check=1), with nothing stored: a browser with a cookie jar
  // follows it at once, and so does this client (once), so that a test
  // sees the answer to the login itself.
  async request(method, url, opts = {}) {
    const res = await this.requestRetried(method, url, opts);
    if (opts.cookieCheck === 'manual' || opts.cookies === false || res.status !== 302 || !res.location) {
      return res;
    }
    const next = new URL(res.location);
    if (next.searchParams.get('cookie_check') !== '1' || !res.setCookies.some((c) => /orgs_browser=/.test(c))) {
      return res;
    }
    return this.requestRetried('GET', next.toString(), { headers: opts.headers });
  }

  // A GET on a kept-alive connection the server closed at that instant
  // fails with a reset; browsers retry such a request once, and so does
  // this client (GET only: it changes nothing).
  async requestRetried(method, url, opts) {
    try {
      return await this.requestOnce(method, url, opts);
    } catch (e) {
      if (method !== 'GET' || !/socket hang up|ECONNRESET/.test(e.message)) throw e;
      return this.requestOnce(method, url, opts);
    }
  }

  requestOnce(method, url, opts = {}) {
    const target = new URL(this.resolve(url));
    const headers = { ...this.headers, ...(opts.headers || {}) };
    let body = opts.body;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'sec-fetch-site')) {
      headers['sec-fetch-site'] = 'same-origin';
    }
    for (const k of Object.keys(headers)) if (headers[k] === null) delete headers[k];
    const cookie = opts.cookies === false ? '' : this.jar.header(target);
    if (cookie && !Object.keys(headers).some((k) => k.toLowerCase() === 'cookie')) {
      headers.cookie = cookie;
    }
    const mod = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        target,
        { method, headers, rejectUnauthorized: false, timeout: this.timeoutMs },
        (res) => {
          const chunks = [];
          res.on('data', (d) => chunks.push(d));
          res.on('end', () => {
            const h = lowerHeaders(res.rawHeaders);
            const setCookies = h['set-cookie'] || [];
            if (opts.cookies !== false) this.jar.store(target, setCookies);
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode,
              headers: h,
              setCookies,
              location: h.location ? new URL(h.location, target).toString() : null,
              rawLocation: h.location ?? null,
              body: text,
              url: target.toString(),
              json: () => JSON.parse(text),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${target}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  get(url, opts) {
    return this.request('GET', url, opts);
  }

  post(url, opts) {
    return this.request('POST', url, opts);
  }

  // Follows redirects (301/302/303/307/308) like a browser, across hosts
  // (e.g. to an IdP on another port). Returns { responses, last }.
  // opts.max: hop limit; opts.stop(res): return true to stop at res.
  async follow(url, opts = {}) {
    const responses = [];
    let method = opts.method || 'GET';
    let next = this.resolve(url);
    let reqOpts = { headers: opts.headers, form: opts.form, body: opts.body, json: opts.json };
    for (let i = 0; i <= (opts.max ?? 15); i++) {
      const res = await this.request(method, next, reqOpts);
      responses.push(res);
      if (![301, 302, 303, 307, 308].includes(res.status) || !res.location) break;
      if (opts.stop?.(res)) break;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        reqOpts = { headers: opts.headers };
      }
      next = res.location;
    }
    return { responses, last: responses[responses.length - 1] };
  }
}
