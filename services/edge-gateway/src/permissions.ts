// Who may subscribe and publish where: channel patterns from token claims, per-namespace
// defaults from config, and the fixed rules of personal channels (`user:<id>` is readable by
// that user only) and group channels (`group:<g>` is readable by its members only). Pure
// functions of strings and a membership lookup, so every rule is unit-tested without a network.
import { parseChannel, type ChannelName } from '@cascade/protocol';
import { GROUP_NAMESPACE, groupOf, type GroupLookup } from '@cascade/nats';

export type Action = 'subscribe' | 'publish';

/** The namespace of personal channels: `user:<id>` (and `user:<id>:<more>`) belong to user `<id>`. */
export const PERSONAL_NAMESPACE = 'user';

/**
 * A channel pattern: an exact channel name (`chat:lobby`), a prefix ending in one `*`
 * (`chat:*`, `chat:team-*`), or `*` alone. Matched on the channel string, never as a NATS
 * wildcard: `*` stands for any (possibly empty) rest of the name, including further `:`.
 */
export interface Pattern {
  readonly text: string;
  readonly prefix: string;
  readonly wildcard: boolean;
}

export type PatternResult = { ok: true; pattern: Pattern } | { ok: false; reason: string };

// The channel alphabet (see parseChannel) plus the trailing '*'.
const PREFIX_RE = /^[A-Za-z0-9_\-:@=,/~]*$/;

/** Parses one pattern; never throws. */
export function parsePattern(input: unknown): PatternResult {
  if (typeof input !== 'string') return { ok: false, reason: 'a pattern must be a string' };
  if (input.length === 0) return { ok: false, reason: 'a pattern must not be empty' };
  if (input.endsWith('*')) {
    const prefix = input.slice(0, -1);
    if (prefix.includes('*')) return { ok: false, reason: `pattern ${JSON.stringify(input)}: '*' is allowed only once, at the end` };
    if (prefix.length >= 128) return { ok: false, reason: `pattern ${JSON.stringify(input)} is too long` };
    if (!PREFIX_RE.test(prefix)) return { ok: false, reason: `pattern ${JSON.stringify(input)} has characters no channel name can contain` };
    if (prefix.startsWith(':')) return { ok: false, reason: `pattern ${JSON.stringify(input)}: a namespace must not be empty` };
    return { ok: true, pattern: { text: input, prefix, wildcard: true } };
  }
  const exact = parseChannel(input);
  if (!exact.ok) return { ok: false, reason: `pattern ${JSON.stringify(input)}: ${exact.reason}` };
  return { ok: true, pattern: { text: input, prefix: input, wildcard: false } };
}

/**
 * Whether `pattern` covers `channel`. A pattern reaches personal channels only when it names
 * the namespace itself (`user:*`, `user:42`): a bare `*` or `u*` never grants another user's inbox.
 */
export function matches(pattern: Pattern, channel: string): boolean {
  if (channel.startsWith(`${PERSONAL_NAMESPACE}:`) && !pattern.prefix.startsWith(`${PERSONAL_NAMESPACE}:`)) return false;
  // The same for groups: `pubs: ["*"]` must not reach every group.
  if (channel.startsWith(`${GROUP_NAMESPACE}:`) && !pattern.prefix.startsWith(`${GROUP_NAMESPACE}:`)) return false;
  return pattern.wildcard ? channel.startsWith(pattern.prefix) : channel === pattern.prefix;
}

/** Parses a list of patterns (a claim or a config value); the first bad entry is the error. */
export function parsePatterns(input: unknown, what: string, max = 256): { ok: true; patterns: Pattern[] } | { ok: false; reason: string } {
  if (!Array.isArray(input)) return { ok: false, reason: `${what} must be an array of channel patterns` };
  if (input.length > max) return { ok: false, reason: `${what} has more than ${max} patterns` };
  const patterns: Pattern[] = [];
  for (const item of input) {
    const p = parsePattern(item);
    if (!p.ok) return { ok: false, reason: `${what}: ${p.reason}` };
    patterns.push(p.pattern);
  }
  return { ok: true, patterns };
}

/** What a connection's token grants, beyond the namespace defaults. */
export interface Grants {
  readonly subscribe: readonly Pattern[];
  readonly publish: readonly Pattern[];
}

export const NO_GRANTS: Grants = { subscribe: [], publish: [] };

/**
 * Rights every connection has per namespace, whatever its token says. Key '' is channels
 * without a namespace; '*' is every namespace not listed (and '' when '' is not listed).
 */
export type NamespaceDefaults = ReadonlyMap<string, ReadonlySet<Action>>;

const NAMESPACE_RE = /^[A-Za-z0-9_\-@=,/~]+$/;
const ACTIONS: readonly Action[] = ['subscribe', 'publish'];

/** Parses EDGE_NAMESPACES: a JSON object `{"public": ["subscribe"], "chat": ["subscribe", "publish"]}`. Throws with a readable message. */
export function parseNamespaceDefaults(json: string): NamespaceDefaults {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`expected a JSON object like {"public":["subscribe"]}, got ${JSON.stringify(json.slice(0, 80))}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('expected a JSON object mapping namespaces to lists of actions');
  const out = new Map<string, ReadonlySet<Action>>();
  for (const [ns, actions] of Object.entries(raw as Record<string, unknown>)) {
    if (ns === PERSONAL_NAMESPACE) throw new Error(`namespace "${PERSONAL_NAMESPACE}" has fixed rules (only its owner subscribes) and cannot be configured`);
    if (ns === GROUP_NAMESPACE) throw new Error(`namespace "${GROUP_NAMESPACE}" has fixed rules (only members subscribe) and cannot be configured`);
    if (ns !== '' && ns !== '*' && !NAMESPACE_RE.test(ns)) throw new Error(`${JSON.stringify(ns)} is not a namespace (letters, digits and _ - @ = , / ~), "" or "*"`);
    if (!Array.isArray(actions) || actions.some((a) => !ACTIONS.includes(a as Action))) {
      throw new Error(`namespace ${JSON.stringify(ns)}: expected a list of "subscribe" and "publish", got ${JSON.stringify(actions)}`);
    }
    out.set(ns, new Set(actions as Action[]));
  }
  return out;
}

/** The owner of a personal channel (`user:42` and `user:42:inbox` -> `42`), or undefined for other channels. */
export function personalOwner(channel: string): string | undefined {
  if (!channel.startsWith(`${PERSONAL_NAMESPACE}:`)) return undefined;
  const rest = channel.slice(PERSONAL_NAMESPACE.length + 1);
  const colon = rest.indexOf(':');
  return colon < 0 ? rest : rest.slice(0, colon);
}

/** The personal channel of a user id (ids are validated to be channel-safe and free of ':'). */
export function personalChannel(user: string): ChannelName {
  const parsed = parseChannel(`${PERSONAL_NAMESPACE}:${user}`);
  if (!parsed.ok) throw new Error(`user id ${JSON.stringify(user)} cannot name a personal channel: ${parsed.reason}`);
  return parsed.channel.name;
}

export interface Subject {
  readonly user: string;
  readonly grants: Grants;
  /** Anonymous connections get the namespace defaults only for the actions listed here. */
  readonly anonymous?: { readonly actions: ReadonlySet<Action> };
}

/**
 * The access decision. Personal channels: only the owner subscribes; the owner may publish
 * to them, others only with a publish pattern naming `user:` explicitly. Group channels
 * (`group:<g>`, `group:<g>:<more>`): members subscribe and publish (membership from `groups`,
 * none without it); others only publish, with a pattern naming `group:` explicitly (a
 * backend identity). Every other channel: allowed when a token pattern matches or the
 * channel's namespace default allows the action.
 */
export function allowed(who: Subject, action: Action, channel: string, defaults: NamespaceDefaults, groups?: GroupLookup): boolean {
  if (channel.startsWith(`${GROUP_NAMESPACE}:`)) {
    if (who.anonymous !== undefined) return false;
    const group = groupOf(channel);
    if (group !== undefined && groups?.has(group, who.user)) return true;
    return action === 'publish' && who.grants.publish.some((p) => matches(p, channel));
  }
  const owner = personalOwner(channel);
  if (owner !== undefined) {
    if (who.anonymous !== undefined) return false;
    if (owner === who.user) return true;
    return action === 'publish' && who.grants.publish.some((p) => matches(p, channel));
  }
  if (who.anonymous === undefined && (action === 'subscribe' ? who.grants.subscribe : who.grants.publish).some((p) => matches(p, channel))) return true;
  if (who.anonymous !== undefined && !who.anonymous.actions.has(action)) return false;
  const colon = channel.indexOf(':');
  const ns = colon < 0 ? '' : channel.slice(0, colon);
  const rights = defaults.get(ns) ?? defaults.get('*');
  return rights?.has(action) ?? false;
}
