// The synchronous HS256 path against jose itself: for every token, when the fast path decides,
// it decides what jose decides (same payload, or a refusal of the same kind); whatever it
// passes back (NOT_PLAIN) jose handles.
import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { errors, jwtVerify, SignJWT, type JWTVerifyOptions } from 'jose';
import { Hs256Verifier, NOT_PLAIN, type ClaimRules } from './hs256.js';

const SECRET = new TextEncoder().encode('a-test-secret-that-is-long-enough-1234');
const OTHER = new TextEncoder().encode('another-secret-that-is-long-enough-000');
const NOW = 1_800_000_000;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** A token signed with `key` over exactly these header and payload texts. */
function raw(header: string, payload: string | Buffer, key = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}
const plain = (claims: Record<string, unknown>, key = SECRET) => raw('{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims), key);

/** The outcome as the edge maps it to a close code (identity.ts refusal()). */
function kind(err: unknown): string {
  if (err instanceof errors.JWTExpired) return `expired:${err.claim}`;
  if (err instanceof errors.JWTClaimValidationFailed) return `claim:${err.claim}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg';
  if (err instanceof errors.JOSEError) return 'malformed';
  return `other:${String(err)}`;
}

async function viaJose(token: string, r: ClaimRules): Promise<unknown> {
  const o: JWTVerifyOptions = {
    algorithms: ['HS256'],
    currentDate: new Date(r.now * 1000),
    clockTolerance: r.toleranceSec,
    requiredClaims: [...r.requiredClaims],
    ...(r.issuer === undefined ? {} : { issuer: r.issuer }),
    ...(r.audience === undefined ? {} : { audience: r.audience }),
  };
  try {
    return { payload: (await jwtVerify(token, SECRET, o)).payload };
  } catch (err) {
    return { refused: kind(err) };
  }
}

function viaFast(token: string, r: ClaimRules): unknown {
  try {
    const p = new Hs256Verifier(SECRET).verify(token, r);
    return p === NOT_PLAIN ? NOT_PLAIN : { payload: p };
  } catch (err) {
    return { refused: kind(err) };
  }
}

const base: ClaimRules = { now: NOW, toleranceSec: 0, requiredClaims: ['sub'] };
const good = { sub: 'alice', iat: NOW - 10, exp: NOW + 60 };

const cases: Array<[string, string, ClaimRules?]> = [
  ['valid', plain(good)],
  ['valid, no exp', plain({ sub: 'alice' })],
  ['exp required and missing', plain({ sub: 'alice' }), { ...base, requiredClaims: ['sub', 'exp'] }],
  ['expired', plain({ sub: 'alice', exp: NOW - 1 })],
  ['expires now', plain({ sub: 'alice', exp: NOW })],
  ['expired within tolerance', plain({ sub: 'alice', exp: NOW - 5 }), { ...base, toleranceSec: 10 }],
  ['expired beyond fractional tolerance', plain({ sub: 'alice', exp: NOW - 2 }), { ...base, toleranceSec: 1.5 }],
  ['fractional exp', plain({ sub: 'alice', exp: NOW + 0.5 })],
  ['exp a string', plain({ sub: 'alice', exp: String(NOW + 60) })],
  ['iat a string', plain({ sub: 'alice', iat: 'yesterday' })],
  ['nbf in the future', plain({ sub: 'alice', nbf: NOW + 5 })],
  ['nbf within tolerance', plain({ sub: 'alice', nbf: NOW + 5 }), { ...base, toleranceSec: 10 }],
  ['nbf null', plain({ sub: 'alice', nbf: null })],
  ['no sub', plain({ exp: NOW + 60 })],
  ['issuer matches', plain({ ...good, iss: 'https://id' }), { ...base, issuer: 'https://id' }],
  ['issuer differs', plain({ ...good, iss: 'https://evil' }), { ...base, issuer: 'https://id' }],
  ['issuer missing', plain(good), { ...base, issuer: 'https://id' }],
  ['audience string', plain({ ...good, aud: 'cascade' }), { ...base, audience: 'cascade' }],
  ['audience in a list', plain({ ...good, aud: ['x', 'cascade'] }), { ...base, audience: 'cascade' }],
  ['audience differs', plain({ ...good, aud: ['x'] }), { ...base, audience: 'cascade' }],
  ['audience a number', plain({ ...good, aud: 7 }), { ...base, audience: 'cascade' }],
  ['wrong key', plain(good, OTHER)],
  ['payload swapped', `${plain(good).split('.')[0]}.${b64(JSON.stringify({ sub: 'mallory' }))}.${plain(good).split('.')[2]}`],
  ['signature cut short', plain(good).slice(0, -4)],
  ['no signature', `${plain(good).split('.').slice(0, 2).join('.')}.`],
  ['padding in the signature', `${plain(good)}=`],
  ['junk in the signature', `${plain(good).slice(0, -2)}!!`],
  ['four parts', `${plain(good)}.x`],
  ['two parts', plain(good).split('.').slice(0, 2).join('.')],
  ['payload not JSON', raw('{"alg":"HS256"}', 'not json')],
  ['payload an array', raw('{"alg":"HS256"}', '[1,2]')],
  ['payload not UTF-8', raw('{"alg":"HS256"}', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))],
  ['header not JSON', raw('alg=HS256', JSON.stringify(good))],
  ['header with kid', raw('{"alg":"HS256","kid":"k1"}', JSON.stringify(good))],
  ['header with crit b64', raw('{"alg":"HS256","crit":["b64"],"b64":false}', JSON.stringify(good))],
  ['header with an unknown crit', raw('{"alg":"HS256","crit":["x"],"x":1}', JSON.stringify(good))],
  ['header alg none', raw('{"alg":"none"}', JSON.stringify(good))],
  ['header alg HS512', raw('{"alg":"HS512"}', JSON.stringify(good))],
  ['header without alg', raw('{"typ":"JWT"}', JSON.stringify(good))],
];

/** The cases the fast path hands to jose; it decides every other one itself. */
const PASSED_BACK = new Set([
  'no signature',
  'padding in the signature',
  'junk in the signature',
  'four parts',
  'two parts',
  'header with crit b64',
  'header with an unknown crit',
  'header alg none',
  'header alg HS512',
  'header without alg',
]);

describe('HS256 on node:crypto decides as jose does', () => {
  for (const [name, token, rules] of cases) {
    it(name, async () => {
      const r = rules ?? base;
      const fast = viaFast(token, r);
      const jose = await viaJose(token, r);
      // What the fast path passes back, jose decides (it even accepts a padded signature).
      if (PASSED_BACK.has(name)) expect(fast).toBe(NOT_PLAIN);
      else expect(fast).toEqual(jose);
    });
  }

  it('takes the plain shape itself (so the storm path never reaches WebCrypto)', async () => {
    expect(viaFast(plain(good), base)).toEqual({ payload: good });
    expect(viaFast(await new SignJWT(good).setProtectedHeader({ alg: 'HS256' }).sign(SECRET), base)).toEqual({ payload: good });
    expect(viaFast(plain({ sub: 'alice', exp: NOW - 1 }), base)).toEqual({ refused: 'expired:exp' });
    expect(viaFast(plain(good, OTHER), base)).toEqual({ refused: 'signature' });
  });

  it('passes unusual headers back to jose', () => {
    expect(viaFast(raw('{"alg":"HS256","crit":["b64"],"b64":false}', JSON.stringify(good)), base)).toBe(NOT_PLAIN);
    expect(viaFast(raw('{"alg":"HS512"}', JSON.stringify(good)), base)).toBe(NOT_PLAIN);
    expect(viaFast(`${plain(good)}=`, base)).toBe(NOT_PLAIN);
  });

  it('decodes a plain header once per verifier, and still checks every signature and claim', () => {
    const v = new Hs256Verifier(SECRET);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(v.verify(plain(good), base)).toEqual(good);
      expect(parse).toHaveBeenCalledTimes(2); // header and claims
      expect(v.verify(plain({ ...good, sub: 'bob' }), base)).toMatchObject({ sub: 'bob' });
      expect(parse).toHaveBeenCalledTimes(3); // the claims only
    } finally {
      parse.mockRestore();
    }
    // The remembered header does not let a bad signature, a bad claim or an unusual header through.
    expect(() => v.verify(plain(good, OTHER), base)).toThrow(errors.JWSSignatureVerificationFailed);
    expect(() => v.verify(plain({ sub: 'alice', exp: NOW - 1 }), base)).toThrow(errors.JWTExpired);
    expect(v.verify(raw('{"alg":"HS512"}', JSON.stringify(good)), base)).toBe(NOT_PLAIN);
  });
});
