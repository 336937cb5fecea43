// The chat room's member list, free of the DOM. At each (re)subscribe the page asks who is
// in the room now (Subscription.presence(), the presence service's members); presence frames
// (join/leave, debounced by the presence service) then tell the changes. Changes that arrive
// while the question is out are applied again on top of the answer, so a join or leave that
// overtakes the answer is not undone by it.

type Change = { kind: 'join' | 'leave'; users: string[] };

export class Members {
  private users = new Set<string>();
  /** Changes seen since the last question was sent; undefined when none is out. */
  private pending: Change[] | undefined;

  constructor(readonly me: string) {
    this.users.add(me);
  }

  /** Presence said these users joined. */
  seen(users: Iterable<string>): void {
    const list = [...users].filter((u) => u !== this.me);
    this.pending?.push({ kind: 'join', users: list });
    for (const u of list) this.users.add(u);
  }

  /** Presence said these users left (after the grace period). */
  left(users: Iterable<string>): void {
    const list = [...users].filter((u) => u !== this.me);
    this.pending?.push({ kind: 'leave', users: list });
    for (const u of list) this.users.delete(u);
  }

  /** We (re)subscribed and asked who is there. */
  asked(): void {
    this.pending = [];
  }

  /** The answer: who is there now (replacing what we had), then the changes seen meanwhile. */
  answered(users: Iterable<string>): void {
    const changes = this.pending ?? [];
    this.pending = undefined;
    this.users = new Set([this.me, ...users]);
    for (const c of changes) for (const u of c.users) c.kind === 'join' ? this.users.add(u) : this.users.delete(u);
  }

  /** The question failed: keep what the changes told us. */
  unanswered(): void {
    this.pending = undefined;
  }

  list(): string[] {
    return [...this.users].sort((a, b) => (a === this.me ? -1 : b === this.me ? 1 : a.localeCompare(b)));
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
