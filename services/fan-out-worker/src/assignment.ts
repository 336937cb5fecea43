// Which partitions this worker should hold: pure balancing over a snapshot of the lease
// bucket. Every worker aims for ceil(P / W) partitions (W = live workers), so the targets
// always cover all P partitions, and gives up its surplus when a worker joins.
import { fnv1a32 } from '@cascade/nats';

export interface PartitionView {
  partitions: number;
  /** This worker's instance id. */
  self: string;
  /** Live workers including this one (heartbeat keys in the lease bucket). */
  workers: number;
  /** Partitions this worker holds. */
  owned: ReadonlySet<number>;
  /** Partitions with a live lease (anyone's, ours included). */
  taken: ReadonlySet<number>;
}

export interface PartitionPlan {
  target: number;
  /** Free partitions to claim, most preferred first. */
  acquire: number[];
  /** Held partitions to give up, least preferred first. */
  release: number[];
}

/**
 * Rendezvous (highest-random-weight) preference: each worker ranks partitions differently,
 * so workers racing for free partitions mostly go for different ones, and a worker's
 * ranking does not change when others come and go (little churn when rebalancing).
 */
export function preference(self: string, partition: number): number {
  // FNV-1a alone spreads short, similar strings poorly; a murmur3 finaliser mixes it.
  let h = fnv1a32(`${self}#${partition}`);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function planPartitions(v: PartitionView): PartitionPlan {
  const target = Math.ceil(v.partitions / Math.max(1, v.workers));
  const byPreference = (a: number, b: number) => preference(v.self, b) - preference(v.self, a);
  if (v.owned.size > target) {
    const release = [...v.owned].sort(byPreference).reverse().slice(0, v.owned.size - target);
    return { target, acquire: [], release };
  }
  const free: number[] = [];
  for (let p = 0; p < v.partitions; p++) if (!v.taken.has(p) && !v.owned.has(p)) free.push(p);
  return { target, acquire: free.sort(byPreference).slice(0, target - v.owned.size), release: [] };
}
