// The edge's authentication, permission and publish-limit variables, and the checks that
// span several of them (production refuses the development secret and anonymous access).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { bool, bytes, ConfigError, duration, int, oneOf, optional, optionalStr, type ConfigOf, type Problem, type Spec } from '@cascade/config';
import { parseNamespaceDefaults, type Action, type NamespaceDefaults } from './permissions.js';

/**
 * The built-in development secret: used when nothing else is configured outside production,
 * so `npm start` works out of the box. Everyone can read it here, so production refuses it.
 */
export const DEV_HS256_SECRET = 'cascade-development-secret-do-not-use-in-production';

const DEFAULT_NAMESPACES = '{"public":["subscribe"]}';

function namespacesSpec(): Spec<NamespaceDefaults> {
  return {
    env: 'EDGE_NAMESPACES',
    describe: 'Rights every connection has per channel namespace, JSON: {"public":["subscribe"],"chat":["subscribe","publish"]}; "" = no namespace, "*" = any other',
    defaultText: DEFAULT_NAMESPACES,
    parse: (raw) => parseNamespaceDefaults(raw ?? DEFAULT_NAMESPACES),
  };
}

export const authConfig = {
  jwtSecret: optionalStr({ env: 'EDGE_JWT_HS256_SECRET', describe: 'Shared secret for HS256 tokens (at least 32 characters); unset outside production = the built-in development secret' }),
  jwtPublicKeys: optionalStr({ env: 'EDGE_JWT_PUBLIC_KEYS', describe: 'PEM public keys (RSA for RS256, P-256 for ES256), or the path of a file holding them' }),
  jwtJwksUrl: optionalStr({ env: 'EDGE_JWT_JWKS_URL', describe: 'URL of a JWKS with the RS256/ES256 signing keys (fetched and cached)', pattern: /^https?:\/\/\S+$/, patternText: 'an http(s) URL' }),
  jwtIssuer: optionalStr({ env: 'EDGE_JWT_ISSUER', describe: 'Required `iss` claim; unset = not checked' }),
  jwtAudience: optionalStr({ env: 'EDGE_JWT_AUDIENCE', describe: 'Required `aud` claim; unset = not checked' }),
  jwtClockTolerance: duration({ env: 'EDGE_JWT_CLOCK_TOLERANCE', describe: 'Clock skew allowed on exp/nbf; a connection closes this long after its token expired', default: '5s', min: '0s', max: '5m' }),
  anonymous: optional(oneOf({ env: 'EDGE_ANONYMOUS', describe: 'Connections without a token: off, subscribe or publish (within EDGE_NAMESPACES); unset = subscribe outside production, off in production', values: ['off', 'subscribe', 'publish'] })),
  namespaces: namespacesSpec(),
  maxPublishBytes: bytes({ env: 'EDGE_MAX_PUBLISH_BYTES', describe: 'Largest publish/ephemeral payload (also capped by RT_MAX_MESSAGE_BYTES); larger gets error 109', default: '32KiB', min: '16B', max: '16MiB' }),
  publishRate: int({ env: 'EDGE_PUBLISH_RATE', describe: 'Publishes (durable and ephemeral) per second per connection, sustained', default: 50, min: 1, max: 1_000_000 }),
  publishBurst: int({ env: 'EDGE_PUBLISH_BURST', describe: 'Publishes a connection may send at once after a quiet period', default: 100, min: 1, max: 1_000_000 }),
  channelPublishRate: int({ env: 'EDGE_CHANNEL_PUBLISH_RATE', describe: 'Client publishes per second per channel on this edge, sustained', default: 1000, min: 1, max: 1_000_000 }),
  channelPublishBurst: int({ env: 'EDGE_CHANNEL_PUBLISH_BURST', describe: 'Client publishes per channel on this edge at once after a quiet period', default: 2000, min: 1, max: 1_000_000 }),
  devTokens: bool({ env: 'EDGE_DEV_TOKENS', describe: 'on: GET /v1/dev/token?user=<id> hands out 1-hour HS256 tokens signed with the HS256 secret (demos, development); refused in production and without an HS256 secret', default: false }),
};

export type AuthConfig = ConfigOf<typeof authConfig>;

export type TokenAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface PublicKey {
  alg: 'RS256' | 'ES256';
  key: KeyObject;
}

/** Everything the authenticator needs, checked as a whole. */
export interface AuthSettings {
  production: boolean;
  hs256Secret: Uint8Array | undefined;
  /** True when the built-in development secret is in use (the edge warns at start). */
  devSecret: boolean;
  publicKeys: PublicKey[];
  jwksUrl: URL | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceMs: number;
  /** `exp` is required in production, so no token is valid forever there. */
  requireExp: boolean;
  /** Actions tokenless connections get within the namespace defaults; undefined = a token is required. */
  anonymous: ReadonlySet<Action> | undefined;
  namespaces: NamespaceDefaults;
  /** EDGE_DEV_TOKENS: serve `GET /v1/dev/token` (never in production; needs `hs256Secret`). */
  devTokens: boolean;
}

const PEM_RE = /-----BEGIN (?:PUBLIC KEY|CERTIFICATE|RSA PUBLIC KEY)-----[\s\S]+?-----END (?:PUBLIC KEY|CERTIFICATE|RSA PUBLIC KEY)-----/g;

/** Reads EDGE_JWT_PUBLIC_KEYS: PEM text, or a path to a PEM file; one or more keys. */
export function parsePublicKeys(value: string): PublicKey[] {
  const text = value.includes('-----BEGIN') ? value : readPemFile(value);
  const blocks = text.match(PEM_RE) ?? [];
  if (blocks.length === 0) throw new Error('no PEM public key (-----BEGIN PUBLIC KEY-----) found');
  return blocks.map((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`key ${i + 1} is not a readable PEM public key (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    if (key.asymmetricKeyType === 'rsa') {
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error(`key ${i + 1}: RSA keys must have at least 2048 bits`);
      return { alg: 'RS256', key };
    }
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { alg: 'ES256', key };
    throw new Error(`key ${i + 1}: only RSA (RS256) and EC P-256 (ES256) keys are supported, got ${key.asymmetricKeyType ?? 'unknown'}`);
  });
}

function readPemFile(path: string): string {
  if (!existsSync(path)) throw new Error(`neither PEM text nor an existing file: ${JSON.stringify(path.slice(0, 200))}`);
  return readFileSync(path, 'utf8');
}

/**
 * Checks the auth variables together and builds the settings. Throws ConfigError naming
 * each variable at fault, so the edge exits 78 with one line per problem before it starts.
 */
export function authSettings(c: AuthConfig, env: Record<string, string | undefined>): AuthSettings {
  const production = env['NODE_ENV'] === 'production';
  const problems: Problem[] = [];
  const problem = (variable: string, message: string) => problems.push({ variable, message });

  let publicKeys: PublicKey[] = [];
  if (c.jwtPublicKeys !== undefined) {
    try {
      publicKeys = parsePublicKeys(c.jwtPublicKeys);
    } catch (err) {
      problem('EDGE_JWT_PUBLIC_KEYS', err instanceof Error ? err.message : String(err));
    }
  }
  if (c.jwtSecret !== undefined && c.jwtSecret.length < 32) problem('EDGE_JWT_HS256_SECRET', `expected at least 32 characters, got ${c.jwtSecret.length}`);
  if (production && c.jwtSecret === DEV_HS256_SECRET) problem('EDGE_JWT_HS256_SECRET', 'the built-in development secret is refused when NODE_ENV=production; set your own secret or use public keys');
  const anyVerifier = c.jwtSecret !== undefined || c.jwtPublicKeys !== undefined || c.jwtJwksUrl !== undefined;
  if (production && !anyVerifier) {
    problem('EDGE_JWT_PUBLIC_KEYS', 'NODE_ENV=production needs a way to verify tokens: EDGE_JWT_PUBLIC_KEYS, EDGE_JWT_JWKS_URL or EDGE_JWT_HS256_SECRET');
  }
  const anonymousMode = c.anonymous ?? (production ? 'off' : 'subscribe');
  if (production && anonymousMode !== 'off') problem('EDGE_ANONYMOUS', `connections without a token are refused when NODE_ENV=production; got ${anonymousMode}`);
  if (c.devTokens && production) problem('EDGE_DEV_TOKENS', 'development tokens are refused when NODE_ENV=production (anyone could mint a token for any user)');
  else if (c.devTokens && c.jwtSecret === undefined && anyVerifier) {
    problem('EDGE_DEV_TOKENS', 'development tokens need an HS256 secret to sign them: set EDGE_JWT_HS256_SECRET, or leave every verifier unset to use the development secret');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const devSecret = !anyVerifier || c.jwtSecret === DEV_HS256_SECRET;
  const secret = c.jwtSecret ?? (anyVerifier ? undefined : DEV_HS256_SECRET);
  return {
    production,
    hs256Secret: secret === undefined ? undefined : new TextEncoder().encode(secret),
    devSecret,
    publicKeys,
    jwksUrl: c.jwtJwksUrl === undefined ? undefined : new URL(c.jwtJwksUrl),
    issuer: c.jwtIssuer,
    audience: c.jwtAudience,
    clockToleranceMs: c.jwtClockTolerance,
    requireExp: production,
    anonymous: anonymousMode === 'off' ? undefined : new Set<Action>(anonymousMode === 'publish' ? ['subscribe', 'publish'] : ['subscribe']),
    namespaces: c.namespaces,
    devTokens: c.devTokens,
  };
}
