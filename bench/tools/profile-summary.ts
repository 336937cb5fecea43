// Turns a V8 .cpuprofile (node --cpu-prof) into a short text summary: wall time covered,
// share idle, and the functions with the most self time, by file. Small enough to keep
// in the repository where the raw profile (megabytes) is not.
//   node --import tsx bench/tools/profile-summary.ts <file.cpuprofile> [top]

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileTree, selfTimes, shortUrl, type CpuProfile } from './cpu-profile.js';
import { flameGraphSvg } from './flame-graph.js';

export function summariseProfile(p: CpuProfile, top = 25): string {
  const { byId } = profileTree(p);
  const selfUs = selfTimes(p);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    total += us;
    if (f.functionName === '(idle)') idle += us;
    const file = f.url === '' ? `(${f.functionName.replace(/[()]/g, '') || 'native'})` : shortUrl(f.url);
    const key = `${f.functionName || '(anonymous)'}  ${file}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const area = f.url === '' ? file : file.replace(/^(node_modules\/(@[^/]+\/)?[^/]+|services\/[^/]+|libs\/[^/]+|bench|node:[^/]+).*$/, '$1');
    byFile.set(area, (byFile.get(area) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((us / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (${((busy / Math.max(1, total)) * 100).toFixed(1)}%), ${p.samples.length} samples`,
    '',
    `top ${top} functions by self time (share of busy time):`,
    ...[...byFn]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${ms(us)} ${pct(us)}  ${k}`),
    '',
    'self time by package / module:',
    ...[...byFile]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([k, us]) => `${ms(us)} ${pct(us)}  ${k}`),
    '',
  ];
  return lines.join('\n');
}

/**
 * Next to each .cpuprofile in `dir`: its summary (.top.txt) and flame graph (.flame.svg),
 * unless they are there already. Returns the summaries written, by profile file name.
 */
export function writeProfileReports(dir: string, top = 30): Map<string, string> {
  const written = new Map<string, string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const summary = join(dir, f.replace(/\.cpuprofile$/, '.top.txt'));
    const flame = join(dir, f.replace(/\.cpuprofile$/, '.flame.svg'));
    if (existsSync(summary) && existsSync(flame)) continue;
    const profile = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const text = summariseProfile(profile, top);
    writeFileSync(summary, text);
    writeFileSync(flame, flameGraphSvg(profile, f.replace(/\.cpuprofile$/, '')));
    written.set(f, text);
  }
  return written;
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  process.stdout.write(summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(process.argv[3] ?? 25)));
}
