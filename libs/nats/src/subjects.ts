// Subject and stream names of the NATS contract (docs/architecture.md). Only validated
// channel names (ChannelName from @cascade/protocol) can be turned into subjects.
import type { ChannelName } from '@cascade/protocol';
import { partitionOf } from './partition.js';

const PREFIX_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** Services that answer request-reply on `<prefix>.svc.<service>.<verb>`. */
export type ServiceName = 'edge' | 'fanout' | 'history' | 'presence';

export class Contract {
  readonly prefix: string;
  readonly partitions: number;
  /** JetStream stream capturing `<prefix>.in.>`. */
  readonly ingestStream: string;
  /** JetStream stream capturing `<prefix>.hist.>`. */
  readonly historyStream: string;
  /** KV buckets: partition leases, presence registry, group membership. */
  readonly buckets: { readonly leases: string; readonly presence: string; readonly groups: string };

  constructor(o: { prefix: string; partitions: number }) {
    if (!PREFIX_RE.test(o.prefix)) throw new RangeError(`subject prefix "${o.prefix}" must match ${PREFIX_RE}`);
    if (!Number.isInteger(o.partitions) || o.partitions < 1 || o.partitions > 1024) {
      throw new RangeError('partitions must be an integer from 1 to 1024');
    }
    this.prefix = o.prefix;
    this.partitions = o.partitions;
    const upper = o.prefix.toUpperCase().replace(/-/g, '_');
    this.ingestStream = `${upper}_IN`;
    this.historyStream = `${upper}_HIST`;
    this.buckets = { leases: `${o.prefix}_leases`, presence: `${o.prefix}_presence`, groups: `${o.prefix}_groups` };
  }

  partitionOf(channel: ChannelName): number {
    return partitionOf(channel, this.partitions);
  }

  /** `<prefix>.in.<part>.<ch>`: where a publish enters (captured by the ingest stream). */
  ingest(channel: ChannelName): string {
    return `${this.prefix}.in.${partitionOf(channel, this.partitions)}.${channel}`;
  }

  /** Filter for one partition's ingest messages. */
  ingestPartition(partition: number): string {
    return `${this.prefix}.in.${partition}.>`;
  }

  /** Every ingest subject (the ingest stream's subject). */
  get ingestAll(): string {
    return `${this.prefix}.in.>`;
  }

  /**
   * `<prefix>.pub.<ch>`: a convenience subject for plain-NATS publishers; the nats-server
   * mapping shipped in infra/ rewrites it to the right ingest partition.
   */
  publishAlias(channel: ChannelName): string {
    return `${this.prefix}.pub.${channel}`;
  }

  /** The nats-server `mappings` entry that makes publishAlias() work. */
  serverMapping(): { from: string; to: string } {
    return { from: `${this.prefix}.pub.*`, to: `${this.prefix}.in.{{partition(${this.partitions},1)}}.{{wildcard(1)}}` };
  }

  /** `<prefix>.hist.<ch>`: a channel's stored history. */
  history(channel: ChannelName): string {
    return `${this.prefix}.hist.${channel}`;
  }

  get historyAll(): string {
    return `${this.prefix}.hist.>`;
  }

  /** `<prefix>.live.<ch>`: finished client frames, core NATS, not stored. */
  live(channel: ChannelName): string {
    return `${this.prefix}.live.${channel}`;
  }

  /** Every live subject (where the history stream republishes what it stores). */
  get liveAll(): string {
    return `${this.prefix}.live.>`;
  }

  /** The channel of an ingest, history or live subject built by this contract. */
  channelOf(subject: string): ChannelName {
    // prefix.in.<part>.<ch> | prefix.hist.<ch> | prefix.live.<ch>; channels hold no '.'.
    return subject.slice(subject.lastIndexOf('.') + 1) as ChannelName;
  }

  /** `<prefix>.svc.<service>.<verb>`: request-reply between services. */
  service(service: ServiceName, verb: string): string {
    return `${this.prefix}.svc.${service}.${verb}`;
  }
}
