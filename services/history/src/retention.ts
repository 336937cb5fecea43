// Retention per channel namespace, tighter than the history stream's own limits
// (RT_HISTORY_MAX_MESSAGES / RT_HISTORY_MAX_AGE apply to every channel): a periodic sweep
// purges, channel by channel, what a namespace's rule no longer keeps. The rules and the
// decisions are pure; the JetStream adapter lists channels and purges.
import { ConfigProblem, duration, type Spec } from '@cascade/config';
import type { JetStreamManager, MsgRequest } from '@nats-io/jetstream';
import type { Contract } from '@cascade/nats';
import { parseChannel, type ChannelName } from '@cascade/protocol';

export interface RetentionRule {
  /** Newest messages kept per channel. */
  maxMessages?: number;
  /** Messages older than this are removed, in milliseconds. */
  maxAgeMs?: number;
}

/** Namespace ('' = channels without one) -> its rule. */
export type RetentionRules = ReadonlyMap<string, RetentionRule>;

const ageSpec = duration({ env: 'HISTORY_RETENTION', describe: 'age', min: '1s' });

/** Parses `{"chat":{"messages":100,"age":"1h"},"":{"age":"10m"}}`. */
export function parseRetention(raw: string): RetentionRules {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Reported as the operator's mistake, with the expected shape.
    throw new ConfigProblem('expected JSON such as {"chat":{"messages":100,"age":"1h"}}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigProblem('expected a JSON object of namespace -> {messages, age}');
  const rules = new Map<string, RetentionRule>();
  for (const [ns, r] of Object.entries(value as Record<string, unknown>)) {
    if (ns !== '' && !parseChannel(`${ns}:x`).ok) throw new ConfigProblem(`namespace "${ns}" breaks the channel rules`);
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new ConfigProblem(`rule of "${ns}" must be an object {messages?, age?}`);
    const { messages, age, ...rest } = r as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new ConfigProblem(`rule of "${ns}" has unknown fields: ${Object.keys(rest).join(', ')}`);
    const rule: RetentionRule = {};
    if (messages !== undefined) {
      if (typeof messages !== 'number' || !Number.isInteger(messages) || messages < 1) throw new ConfigProblem(`"${ns}".messages must be a positive integer`);
      rule.maxMessages = messages;
    }
    if (age !== undefined) {
      if (typeof age !== 'string') throw new ConfigProblem(`"${ns}".age must be a duration string such as "1h"`);
      rule.maxAgeMs = ageSpec.parse(age);
    }
    if (rule.maxMessages === undefined && rule.maxAgeMs === undefined) throw new ConfigProblem(`rule of "${ns}" sets neither messages nor age`);
    rules.set(ns, rule);
  }
  return rules;
}

export function retentionSpec(): Spec<RetentionRules> {
  return {
    env: 'HISTORY_RETENTION',
    describe: 'Per-namespace retention tighter than the stream limits, JSON: {"chat":{"messages":100,"age":"1h"}}; "" = channels without a namespace',
    defaultText: '{}',
    parse: (raw) => parseRetention(raw === undefined || raw === '' ? '{}' : raw),
  };
}

export function namespaceOf(channel: string): string {
  const i = channel.indexOf(':');
  return i < 0 ? '' : channel.slice(0, i);
}

/** What one sweep removes from one channel: keep the newest `keep`, and/or everything stored before `before` (ms). */
export interface PurgePlan {
  keep?: number;
  olderThan?: number;
}

/** The plan for a channel holding `count` messages, or undefined when its rule asks for nothing now. */
export function planPurge(rule: RetentionRule | undefined, count: number, now: number): PurgePlan | undefined {
  if (!rule || count === 0) return undefined;
  const plan: PurgePlan = {};
  if (rule.maxMessages !== undefined && count > rule.maxMessages) plan.keep = rule.maxMessages;
  if (rule.maxAgeMs !== undefined) plan.olderThan = now - rule.maxAgeMs;
  return plan.keep === undefined && plan.olderThan === undefined ? undefined : plan;
}

export interface SweepLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Sweeps the history stream every `intervalMs`. Guarantees: only channels whose namespace
 * has a rule are touched; messages are removed from the oldest end only, so what remains is
 * still a contiguous range (a channel purged empty starts a new epoch with its next message,
 * as with the stream's own age limit). Several history instances may sweep at once: purges
 * are idempotent.
 */
export class RetentionSweeper {
  purged = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly contract: Contract,
    private readonly rules: RetentionRules,
    private readonly intervalMs: number,
    private readonly log: SweepLog,
  ) {}

  start(): void {
    if (this.rules.size === 0) return;
    const tick = () => {
      this.running = this.sweep()
        .then(
          () => undefined,
          (err: unknown) => this.log.warn({ err }, 'retention sweep failed; next one retries'),
        )
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every channel of the history stream. */
  async sweep(now = Date.now()): Promise<number> {
    const info = await this.jsm.streams.info(this.contract.historyStream, { subjects_filter: this.contract.historyAll });
    let removed = 0;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const channel = this.contract.channelOf(subject);
      const plan = planPurge(this.rules.get(namespaceOf(channel)), count, now);
      if (plan) removed += await this.apply(channel, subject, plan);
    }
    this.purged += removed;
    if (removed > 0) this.log.info({ removed }, 'retention sweep removed messages');
    return removed;
  }

  private async apply(channel: ChannelName, subject: string, plan: PurgePlan): Promise<number> {
    let removed = 0;
    if (plan.keep !== undefined) removed += (await this.jsm.streams.purge(this.contract.historyStream, { filter: subject, keep: plan.keep })).purged;
    if (plan.olderThan !== undefined) {
      const before = await this.firstNewerThan(subject, plan.olderThan);
      if (before > 0) removed += (await this.jsm.streams.purge(this.contract.historyStream, { filter: subject, seq: before })).purged;
    }
    if (removed > 0) this.log.info({ channel, removed }, 'retention removed messages');
    return removed;
  }

  /**
   * Stream sequence of the channel's oldest message stored at or after `cutoff` (ms), or
   * one past its newest when all are older; 0 when nothing is older. Walks from the oldest:
   * each sweep only walks what aged out since the previous one.
   */
  private async firstNewerThan(subject: string, cutoff: number): Promise<number> {
    let seq = 1;
    let last = 0;
    for (;;) {
      // next_by_subj works on STREAM.MSG.GET since nats-server 2.9; nats.js's MsgRequest type
      // does not list it, hence the cast.
      const query = { next_by_subj: subject, seq } as unknown as MsgRequest;
      const m = await this.jsm.streams.getMessage(this.contract.historyStream, query);
      if (!m) return last === 0 ? 0 : last + 1;
      if (m.time.getTime() >= cutoff) return last === 0 ? 0 : m.seq;
      last = m.seq;
      seq = m.seq + 1;
    }
  }
}
