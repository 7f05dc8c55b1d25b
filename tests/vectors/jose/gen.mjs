// Generates the JOSE test vectors used by tests/unit/jose/:
//   jwks.json         the verifier's key set (several keys, some to be skipped)
//   jwks-single.json  one RSA key only (tokens without kid)
//   cases.json        [{name, jwks, token, verify, claims}] where verify is the
//                     expected status of orgs_jose_jws_verify and claims the
//                     expected status of orgs_jose_claims_check (or null)
// Run: node tests/vectors/jose/gen.mjs   (needs only node's own crypto; the
// output is committed so the tests never need node)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));

const gen = (type, opts) => crypto.generateKeyPairSync(type, opts);
const rsa1 = gen('rsa', { modulusLength: 2048 });
const rsa2 = gen('rsa', { modulusLength: 2048 });
const rsaSmall = gen('rsa', { modulusLength: 1024 });
const ec1 = gen('ec', { namedCurve: 'P-256' });
const ec384 = gen('ec', { namedCurve: 'P-384' });
const other = gen('rsa', { modulusLength: 2048 }); // not in any JWKS

const pub = (k, extra) => ({ ...k.publicKey.export({ format: 'jwk' }), ...extra });

const jwks = {
  keys: [
    pub(rsa1, { kid: 'rsa1', use: 'sig' }),
    pub(rsa2, { kid: 'rsa2' }),
    pub(rsa1, { kid: 'rsa-ps', alg: 'PS256' }),
    pub(ec1, { kid: 'ec1', use: 'sig', alg: 'ES256' }),
    pub(ec384, { kid: 'ec384' }),
    pub(rsa1, { kid: 'rsa-enc', use: 'enc' }),
    pub(rsa1, { kid: 'rsa-ops-enc', key_ops: ['encrypt'] }),
    pub(rsaSmall, { kid: 'rsa-small' }),
    { kty: 'oct', kid: 'oct1', k: Buffer.from('secret-hmac-key-not-to-be-used!!').toString('base64url') },
    pub(gen('ed25519'), { kid: 'okp1' }),
  ],
};
const jwksSingle = { keys: [pub(rsa1, {})] };

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

const mdOf = (alg) => 'sha' + alg.slice(2);
function sign(alg, key, input) {
  if (alg.startsWith('RS')) return crypto.sign(mdOf(alg), Buffer.from(input), key.privateKey);
  if (alg.startsWith('PS'))
    return crypto.sign(mdOf(alg), Buffer.from(input), {
      key: key.privateKey,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    });
  if (alg.startsWith('ES'))
    return crypto.sign(mdOf(alg), Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  throw new Error(alg);
}

function jws(header, payload, key) {
  const input = b64(header) + '.' + (typeof payload === 'string' ? payload : b64(payload));
  return input + '.' + sign(header.alg, key, input).toString('base64url');
}

// now used by the test: 1700000100 (2023-11-14); tokens expire in 2100.
const NOW = 1700000100;
const base = {
  iss: 'https://idp.example.com',
  sub: '00u1abcd',
  aud: 'client-123',
  exp: 4102444800,
  iat: 1700000000,
  nonce: 'n-0S6_WzA2Mj',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Example',
  auth_time: 1700000000,
  amr: ['pwd'],
  groups: { a: 1 },
  acr: null,
  score: 1.5,
};
const claims = (over, drop = []) => {
  const c = { ...base, ...over };
  for (const d of drop) delete c[d];
  return c;
};

const cases = [];
const add = (name, token, verify, claimsRv = null, jwksName = 'jwks.json') =>
  cases.push({ name, jwks: jwksName, token, verify, claims: claimsRv });

const rs = (c, kid = 'rsa1') => jws({ alg: 'RS256', typ: 'JWT', kid }, c, rsa1);
const good = rs(base);

// valid
add('rs256_valid', good, 'ok', 'ok');
add('ps256_valid', jws({ alg: 'PS256', kid: 'rsa-ps' }, base, rsa1), 'ok', 'ok');
add('ps256_kid_without_alg', jws({ alg: 'PS256', kid: 'rsa1' }, base, rsa1), 'ok', 'ok');
add('es256_valid', jws({ alg: 'ES256', kid: 'ec1' }, base, ec1), 'ok', 'ok');
add('rs512_valid', jws({ alg: 'RS512', kid: 'rsa2' }, base, rsa2), 'ok', 'ok');
add('ps384_valid', jws({ alg: 'PS384', kid: 'rsa2' }, base, rsa2), 'ok', 'ok');
add('es384_valid', jws({ alg: 'ES384', kid: 'ec384' }, base, ec384), 'ok', 'ok');
add('rs256_no_kid_single_key', jws({ alg: 'RS256' }, base, rsa1), 'ok', 'ok', 'jwks-single.json');
add('multi_aud_with_azp', rs(claims({ aud: ['client-123', 'other'], azp: 'client-123' })), 'ok', 'ok');
add('aud_array_single', rs(claims({ aud: ['client-123'] })), 'ok', 'ok');
add('nbf_past', rs(claims({ nbf: NOW - 10 })), 'ok', 'ok');
add('exp_within_skew', rs(claims({ exp: NOW - 30 })), 'ok', 'ok');
add('iat_within_skew', rs(claims({ iat: NOW + 30 })), 'ok', 'ok');
add('exp_real', rs(claims({ exp: 4102444800.5 })), 'ok', 'ok');

// algorithm attacks
add('alg_none', b64({ alg: 'none' }) + '.' + b64(base) + '.', 'EBADALG');
add('alg_none_kid', b64({ alg: 'none', kid: 'rsa1' }) + '.' + b64(base) + '.', 'EBADALG');
add('alg_NONE_upper', b64({ alg: 'NONE' }) + '.' + b64(base) + '.', 'EBADALG');
{
  const pem = rsa1.publicKey.export({ format: 'pem', type: 'spki' });
  const input = b64({ alg: 'HS256', kid: 'rsa1' }) + '.' + b64(base);
  add('hs256_rsa_pem_secret', input + '.' + crypto.createHmac('sha256', pem).update(input).digest('base64url'), 'EBADALG');
  const jwkBytes = JSON.stringify(pub(rsa1, {}));
  const input2 = b64({ alg: 'HS256', kid: 'rsa1' }) + '.' + b64(base);
  add('hs256_rsa_jwk_secret', input2 + '.' + crypto.createHmac('sha256', jwkBytes).update(input2).digest('base64url'), 'EBADALG');
  const k = Buffer.from('secret-hmac-key-not-to-be-used!!');
  const input3 = b64({ alg: 'HS256', kid: 'oct1' }) + '.' + b64(base);
  add('hs256_oct_key', input3 + '.' + crypto.createHmac('sha256', k).update(input3).digest('base64url'), 'EBADALG');
}
add('alg_missing', b64({ kid: 'rsa1' }) + '.' + b64(base) + '.' + 'AAAA', 'EBADALG');
add('alg_not_string', b64({ alg: 256, kid: 'rsa1' }) + '.' + b64(base) + '.' + 'AAAA', 'EBADALG');
add('alg_unknown', b64({ alg: 'RS1', kid: 'rsa1' }) + '.' + b64(base) + '.' + 'AAAA', 'EBADALG');
add('alg_es512', b64({ alg: 'ES512', kid: 'ec1' }) + '.' + b64(base) + '.' + 'AAAA', 'EBADALG');
// kty / curve / key alg mismatches
add('rs256_with_ec_kid', jws({ alg: 'RS256', kid: 'ec1' }, base, rsa1), 'EBADSIG');
add('es256_with_rsa_kid', jws({ alg: 'ES256', kid: 'rsa1' }, base, ec1), 'EBADSIG');
add('es384_with_p256_kid', jws({ alg: 'ES384', kid: 'ec1' }, base, ec384), 'EBADSIG');
add('rs256_with_ps256_key', jws({ alg: 'RS256', kid: 'rsa-ps' }, base, rsa1), 'EBADSIG');
add('enc_key_skipped', jws({ alg: 'RS256', kid: 'rsa-enc' }, base, rsa1), 'ENOKID');
add('key_ops_encrypt_skipped', jws({ alg: 'RS256', kid: 'rsa-ops-enc' }, base, rsa1), 'ENOKID');
add('small_rsa_skipped', jws({ alg: 'RS256', kid: 'rsa-small' }, base, rsaSmall), 'ENOKID');

// key selection
add('unknown_kid', jws({ alg: 'RS256', kid: 'rotated-away' }, base, other), 'ENOKID');
add('no_kid_ambiguous', jws({ alg: 'RS256' }, base, rsa1), 'ENOKID');
add('kid_not_string', b64({ alg: 'RS256', kid: 7 }) + '.' + b64(base) + '.' + 'AAAA', 'EINVAL');
add('signed_by_other_key', jws({ alg: 'RS256', kid: 'rsa1' }, base, other), 'EBADSIG');

// tampering
{
  const [h, p, s] = good.split('.');
  add('tampered_payload', h + '.' + b64(claims({ sub: 'admin' })) + '.' + s, 'EBADSIG');
  const sb = Buffer.from(s, 'base64url');
  sb[10] ^= 1;
  add('tampered_signature', h + '.' + p + '.' + sb.toString('base64url'), 'EBADSIG');
  add('truncated_signature', good.slice(0, good.length - 10), 'EBADSIG');
  add('empty_signature', h + '.' + p + '.', 'EBADSIG');
  add('two_parts', h + '.' + p, 'EINVAL');
  add('four_parts', good + '.' + s, 'EINVAL');
  add('one_part', h, 'EINVAL');
  add('empty_header', '.' + p + '.' + s, 'EINVAL');
  add('plus_slash_chars', h + '.' + p.slice(0, 8) + '+/' + p.slice(10) + '.' + s, 'EINVAL');
  add('padding_char', h + '.' + p + '.' + s + '=', 'EINVAL');
  add('space_char', h + '.' + p + ' .' + s, 'EINVAL');
  add('header_not_json', b64('{"alg":"RS256",') + '.' + p + '.' + s, 'EINVAL');
  add('header_array', b64('["RS256"]') + '.' + p + '.' + s, 'EINVAL');
  add('header_duplicate_alg', b64('{"alg":"none","alg":"RS256","kid":"rsa1"}') + '.' + p + '.' + s, 'EINVAL');
  add('header_crit', jws({ alg: 'RS256', kid: 'rsa1', crit: ['exp'], exp: 1 }, base, rsa1), 'EINVAL');
  const es = jws({ alg: 'ES256', kid: 'ec1' }, base, ec1);
  const [eh, ep] = es.split('.');
  const der = crypto.sign('sha256', Buffer.from(eh + '.' + ep), { key: ec1.privateKey, dsaEncoding: 'der' });
  add('es256_der_signature', eh + '.' + ep + '.' + der.toString('base64url'), 'EBADSIG');
  add('es256_short_signature', es.slice(0, es.length - 4), 'EBADSIG');
}
add('payload_not_json', jws({ alg: 'RS256', kid: 'rsa1' }, b64('not json'), rsa1), 'EINVAL');
add('payload_array', jws({ alg: 'RS256', kid: 'rsa1' }, b64('[1,2]'), rsa1), 'EINVAL');
add('payload_duplicate_sub', jws({ alg: 'RS256', kid: 'rsa1' },
  b64('{"iss":"https://idp.example.com","sub":"u1","sub":"admin","aud":"client-123","exp":4102444800,"iat":1700000000,"nonce":"n-0S6_WzA2Mj"}'), rsa1), 'EINVAL');

// claim checks (signature fine)
add('expired', rs(claims({ exp: NOW - 3600 })), 'ok', 'ECLAIM:exp');
add('exp_missing', rs(claims({}, ['exp'])), 'ok', 'ECLAIM:exp');
add('exp_string', rs(claims({ exp: '4102444800' })), 'ok', 'ECLAIM:exp');
add('iat_future', rs(claims({ iat: NOW + 3600 })), 'ok', 'ECLAIM:iat');
add('iat_missing', rs(claims({}, ['iat'])), 'ok', 'ECLAIM:iat');
add('nbf_future', rs(claims({ nbf: NOW + 3600 })), 'ok', 'ECLAIM:nbf');
add('wrong_iss', rs(claims({ iss: 'https://evil.example.com' })), 'ok', 'ECLAIM:iss');
add('iss_trailing_slash', rs(claims({ iss: 'https://idp.example.com/' })), 'ok', 'ECLAIM:iss');
add('iss_missing', rs(claims({}, ['iss'])), 'ok', 'ECLAIM:iss');
add('wrong_aud', rs(claims({ aud: 'client-999' })), 'ok', 'ECLAIM:aud');
add('aud_missing', rs(claims({}, ['aud'])), 'ok', 'ECLAIM:aud');
add('aud_empty_array', rs(claims({ aud: [] })), 'ok', 'ECLAIM:aud');
add('aud_array_without_client', rs(claims({ aud: ['a', 'b'], azp: 'a' })), 'ok', 'ECLAIM:aud');
add('multi_aud_without_azp', rs(claims({ aud: ['client-123', 'other'] })), 'ok', 'ECLAIM:azp');
add('azp_other_client', rs(claims({ azp: 'other' })), 'ok', 'ECLAIM:azp');
add('wrong_nonce', rs(claims({ nonce: 'n-0S6_WzA2Mk' })), 'ok', 'ECLAIM:nonce');
add('nonce_missing', rs(claims({}, ['nonce'])), 'ok', 'ECLAIM:nonce');
add('nonce_prefix', rs(claims({ nonce: 'n-0S6_WzA2M' })), 'ok', 'ECLAIM:nonce');
add('missing_sub', rs(claims({}, ['sub'])), 'ok', 'ECLAIM:sub');
add('empty_sub', rs(claims({ sub: '' })), 'ok', 'ECLAIM:sub');
add('sub_number', rs(claims({ sub: 12345 })), 'ok', 'ECLAIM:sub');
add('sub_too_long', rs(claims({ sub: 'x'.repeat(256) })), 'ok', 'ECLAIM:sub');

const write = (f, o) => fs.writeFileSync(path.join(dir, f), JSON.stringify(o, null, 1) + '\n');
write('jwks.json', jwks);
write('jwks-single.json', jwksSingle);
write('cases.json', { now: NOW, iss: base.iss, client_id: base.aud, nonce: base.nonce, cases });
console.log(`${cases.length} cases`);
