// Which local connections receive a personal channel (`user:<id>`): its few holders, kept
// here and sent to one by one, instead of a uWebSockets.js topic. A topic costs about 320 B
// of native memory (measured: 15,000 sockets with one topic each against none), and nearly
// every connection with a token holds a personal channel of its own, so the topic was a fifth
// of an idle connection. A personal channel has one holder per device of its user on this
// node (and the odd service identity granted `user:*`): a Map entry and, rarely, a short
// array cost a tenth of a topic, and a frame is still encoded once and the same bytes sent.
import type { ChannelName } from '@cascade/protocol';
import { PERSONAL_NAMESPACE } from './permissions.js';

const PREFIX = `${PERSONAL_NAMESPACE}:`;

/** True for the channels delivered through DirectChannels rather than a topic. */
export function isDirectChannel(channel: ChannelName): boolean {
  return channel.startsWith(PREFIX);
}

/**
 * The holders of each direct channel, in join order. A channel with one holder keeps the
 * holder itself (no array): the common case, one connection per user. Holders must not be
 * arrays themselves.
 */
export class DirectChannels<H extends object> {
  private readonly holders = new Map<ChannelName, H | H[]>();

  /** Adds `holder` to `channel` (once: a second add is ignored). */
  add(channel: ChannelName, holder: H): void {
    const held = this.holders.get(channel);
    if (held === undefined) this.holders.set(channel, holder);
    else if (Array.isArray(held)) {
      if (!held.includes(holder)) held.push(holder);
    } else if (held !== holder) this.holders.set(channel, [held, holder]);
  }

  /** Removes `holder` from `channel`; true when it held it. */
  remove(channel: ChannelName, holder: H): boolean {
    const held = this.holders.get(channel);
    if (held === holder) {
      this.holders.delete(channel);
      return true;
    }
    if (!Array.isArray(held)) return false;
    const at = held.indexOf(holder);
    if (at < 0) return false;
    held.splice(at, 1);
    if (held.length === 1) this.holders.set(channel, held[0]!);
    return true;
  }

  /** The holders of `channel`: one, several (do not keep or change the array), or none. */
  of(channel: ChannelName): H | readonly H[] | undefined {
    return this.holders.get(channel);
  }

  /** The holders of `channel` as a new array, for the rare paths that change holders while going through them. */
  copyOf(channel: ChannelName): H[] {
    const held = this.holders.get(channel);
    return held === undefined ? [] : Array.isArray(held) ? held.slice() : [held];
  }

  /** How many connections hold `channel`. */
  count(channel: ChannelName): number {
    const held = this.holders.get(channel);
    return held === undefined ? 0 : Array.isArray(held) ? held.length : 1;
  }

  /** Channels with at least one holder. */
  get size(): number {
    return this.holders.size;
  }
}
