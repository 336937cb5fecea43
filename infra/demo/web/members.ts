// The chat room's member list, free of the DOM. Presence frames (join/leave, debounced by the
// presence service) are the truth for changes, but they only report changes: a page that
// joins later learns who is already there by a roll call over ephemeral frames (it says
// `hello`, the others answer `here`). After a reconnect, members not heard from again
// within the roll-call window are dropped (they may have left while we were away).

export class Members {
  private readonly users = new Map<string, { confirmedAt: number }>();
  private rollCallAt: number | undefined;

  constructor(
    readonly me: string,
    readonly rollCallMs = 3_000,
  ) {
    this.users.set(me, { confirmedAt: Number.POSITIVE_INFINITY });
  }

  /** Presence said these users joined, or a roll-call answer came from them. */
  seen(users: Iterable<string>, now: number): void {
    for (const u of users) if (u !== this.me) this.users.set(u, { confirmedAt: now });
  }

  /** Presence said these users left (after the grace period). */
  left(users: Iterable<string>): void {
    for (const u of users) if (u !== this.me) this.users.delete(u);
  }

  /** We (re)subscribed and asked who is there. */
  rollCall(now: number): void {
    this.rollCallAt = now;
  }

  /** Drops the members that did not answer the last roll call in time; true if any was dropped. */
  expire(now: number): boolean {
    const at = this.rollCallAt;
    if (at === undefined || now - at < this.rollCallMs) return false;
    this.rollCallAt = undefined;
    let dropped = false;
    for (const [u, s] of this.users) {
      if (s.confirmedAt < at) {
        this.users.delete(u);
        dropped = true;
      }
    }
    return dropped;
  }

  list(): string[] {
    return [...this.users.keys()].sort((a, b) => (a === this.me ? -1 : b === this.me ? 1 : a.localeCompare(b)));
  }
}

/** Who is typing: a user stays listed for `showMs` after their last typing frame. */
export class Typing {
  private readonly until = new Map<string, number>();

  constructor(readonly showMs = 3_000) {}

  typed(user: string, now: number): void {
    this.until.set(user, now + this.showMs);
  }

  /** Their message arrived: they are done typing. */
  stopped(user: string): void {
    this.until.delete(user);
  }

  list(now: number): string[] {
    for (const [u, t] of this.until) if (t <= now) this.until.delete(u);
    return [...this.until.keys()].sort();
  }
}

/** "alice is typing", "alice and bob are typing", "3 people are typing", or "". */
export function typingText(users: readonly string[]): string {
  if (users.length === 0) return '';
  if (users.length === 1) return `${users[0]} is typing …`;
  if (users.length === 2) return `${users[0]} and ${users[1]} are typing …`;
  return `${users.length} people are typing …`;
}
