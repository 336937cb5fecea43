// Channel names: the only client-chosen string that ever becomes part of a NATS subject,
// so they are checked here, once, before anything else sees them.

/** Longest channel name accepted, in characters (all allowed characters are ASCII). */
export const MAX_CHANNEL_LENGTH = 128;

// No '.', '*', '>' (subject syntax), no whitespace or control characters, no '$'
// (reserved NATS subjects), no '+' or '#' (topic wildcards in some transports).
const CHANNEL_RE = /^[A-Za-z0-9_\-:@=,/~]+$/;

/** A channel name that passed `parseChannel`; only such names can become subjects. */
export type ChannelName = string & { readonly __channel: unique symbol };

export interface Channel {
  readonly name: ChannelName;
  /** The part before the first ':' (`user` in `user:42`), or '' when there is none. */
  readonly namespace: string;
}

export type ChannelResult = { ok: true; channel: Channel } | { ok: false; reason: string };

/** Validates a channel name and splits off its namespace. Never throws. */
export function parseChannel(input: unknown): ChannelResult {
  if (typeof input !== 'string') return { ok: false, reason: 'channel must be a string' };
  if (input.length === 0) return { ok: false, reason: 'channel must not be empty' };
  if (input.length > MAX_CHANNEL_LENGTH) {
    return { ok: false, reason: `channel is longer than ${MAX_CHANNEL_LENGTH} characters` };
  }
  if (!CHANNEL_RE.test(input)) {
    return {
      ok: false,
      reason: 'channel may contain only letters, digits and _ - : @ = , / ~',
    };
  }
  const colon = input.indexOf(':');
  if (colon === 0) return { ok: false, reason: 'channel namespace must not be empty' };
  if (colon === input.length - 1) return { ok: false, reason: 'channel name after the namespace must not be empty' };
  return {
    ok: true,
    channel: { name: input as ChannelName, namespace: colon < 0 ? '' : input.slice(0, colon) },
  };
}

/** True when `input` is a valid channel name. */
export function isValidChannel(input: unknown): input is ChannelName {
  return parseChannel(input).ok;
}
