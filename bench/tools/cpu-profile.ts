// A V8 .cpuprofile as the profile tools read it: its shape, where each sample's time goes,
// and file names shortened to the repository's own. Shared by profile-summary.ts and
// flame-graph.ts.

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(services|libs|bench)\//, '$1/');

/** True for the profiler's own start call (cpu-prof-preload.mjs): not the service's work. */
export const isProfilerStart = (n: ProfileNode) => n.callFrame.url.endsWith('cpu-prof-preload.mjs');

/** The profile's nodes by id and its roots. */
export function profileTree(p: CpuProfile): { byId: Map<number, ProfileNode>; roots: ProfileNode[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const childIds = new Set(p.nodes.flatMap((n) => n.children ?? []));
  return { byId, roots: p.nodes.filter((n) => !childIds.has(n.id)) };
}

/**
 * Sampled self time per node, in µs, leaving out everything under the profiler's start call
 * (`(idle)` is kept: callers decide). timeDeltas[i] is the time before sample i.
 */
export function selfTimes(p: CpuProfile): Map<number, number> {
  const { byId, roots } = profileTree(p);
  const excluded = new Set<number>();
  const exclude = (n: ProfileNode, inside: boolean) => {
    const now = inside || isProfilerStart(n);
    if (now) excluded.add(n.id);
    for (const c of n.children ?? []) exclude(byId.get(c)!, now);
  };
  for (const r of roots) exclude(r, false);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    if (excluded.has(id)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  return selfUs;
}
