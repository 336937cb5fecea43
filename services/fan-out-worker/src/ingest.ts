// Reading one ingest message: which channel, whose, what payload. Anything a backend can
// put on an ingest subject is checked here, because plain-NATS publishers bypass the edge.
import { Header, isGroupName, type Contract } from '@cascade/nats';
import { decodeValue, parseChannel, type ChannelName } from '@cascade/protocol';

export interface IngestMessage {
  channel: ChannelName;
  /** The message data: exactly one msgpack value. */
  payload: Uint8Array;
  from: string | undefined;
  key: string | undefined;
  /** Connection that asked not to receive its own message (`echo: false`); stored as a history header for the live copy. */
  excludeClient: string | undefined;
  /** On a member's copy of a small-group message: the group it was sent to (`grp` in the frame). */
  group?: string | undefined;
  /** When the ingest stream stored it, ms since the Unix epoch. */
  ts: number;
  /** Stream sequence in the ingest stream: identifies this message across redeliveries. */
  ingestSeq: number;
}

export type IngestResult = { ok: true; message: IngestMessage } | { ok: false; reason: string };

// Identities and keys end up in frames and headers: keep them to a safe ASCII set.
const TOKEN_RE = /^[A-Za-z0-9_\-:.=+/@~,]{1,128}$/;

export interface RawIngest {
  subject: string;
  data: Uint8Array;
  header(name: string): string | undefined;
  ingestSeq: number;
  timestampMs: number;
}

export function readIngest(contract: Contract, raw: RawIngest): IngestResult {
  // <prefix>.in.<part>.<ch>
  const tokens = raw.subject.split('.');
  const prefixTokens = contract.prefix.split('.').length;
  if (tokens.length !== prefixTokens + 3 || tokens[prefixTokens] !== 'in') {
    return { ok: false, reason: `subject ${raw.subject} is not <prefix>.in.<partition>.<channel>` };
  }
  const parsed = parseChannel(tokens[prefixTokens + 2]);
  if (!parsed.ok) return { ok: false, reason: `invalid channel: ${parsed.reason}` };
  const channel = parsed.channel.name;
  const part = tokens[prefixTokens + 1];
  const expected = contract.partitionOf(channel);
  if (part !== String(expected)) {
    // A wrong partition would let two workers write one channel: refuse it.
    return { ok: false, reason: `channel ${channel} belongs to partition ${expected}, not ${part}` };
  }
  if (raw.data.length === 0 || !decodeValue(raw.data).ok) {
    return { ok: false, reason: 'payload is not exactly one msgpack value' };
  }
  const from = raw.header(Header.From) || undefined;
  if (from !== undefined && !TOKEN_RE.test(from)) return { ok: false, reason: `invalid ${Header.From} header` };
  const key = raw.header(Header.Key) || undefined;
  if (key !== undefined && !TOKEN_RE.test(key)) return { ok: false, reason: `invalid ${Header.Key} header` };
  const excludeClient = raw.header(Header.ExcludeClient) || undefined;
  if (excludeClient !== undefined && !TOKEN_RE.test(excludeClient)) return { ok: false, reason: `invalid ${Header.ExcludeClient} header` };
  const group = raw.header(Header.Group) || undefined;
  if (group !== undefined && !isGroupName(group)) return { ok: false, reason: `invalid ${Header.Group} header` };
  return { ok: true, message: { channel, payload: raw.data, from, key, excludeClient, group, ts: raw.timestampMs, ingestSeq: raw.ingestSeq } };
}
