// Turns a V8 .cpuprofile into a flame graph (SVG): each box is a function in a call stack,
// as wide as the busy time spent in it and in what it called; callers below, callees above.
// Idle time and the profiler's own start call are left out. Hover a box for its figures.
//   node --import tsx bench/tools/flame-graph.ts <file.cpuprofile> [out.svg] [title]
import { isProfilerStart, profileTree, selfTimes, shortUrl, type CpuProfile, type ProfileNode } from './cpu-profile.js';

const WIDTH = 1200;
const ROW = 17;
const MIN_WIDTH = 0.5;
const FONT_PX = 11;
const CHAR_PX = 6.2;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Our code warm, dependencies blue, Node's internals grey, V8's own entries (GC, program) red. */
function colour(url: string, name: string): string {
  if (url === '') return name === '(garbage collector)' ? '#e0584a' : '#d98a7a';
  if (/\/(services|libs|bench)\//.test(url) && !url.includes('/node_modules/')) return '#f2a93b';
  if (url.includes('/node_modules/')) return '#6fa8dc';
  return '#b7b7b7';
}

export function flameGraphSvg(p: CpuProfile, title: string): string {
  const { byId, roots } = profileTree(p);
  const selfUs = selfTimes(p);
  const skip = (n: ProfileNode) => n.callFrame.functionName === '(idle)' || isProfilerStart(n);
  // Time per subtree (idle and the profiler's start call excluded).
  const totalUs = new Map<number, number>();
  let depthMax = 0;
  const total = (n: ProfileNode, depth: number): number => {
    if (skip(n)) return 0;
    depthMax = Math.max(depthMax, depth);
    let us = selfUs.get(n.id) ?? 0;
    for (const c of n.children ?? []) us += total(byId.get(c)!, depth + 1);
    totalUs.set(n.id, us);
    return us;
  };
  const busy = roots.reduce((a, r) => a + total(r, 0), 0);
  const scale = WIDTH / Math.max(1, busy);
  const height = (depthMax + 1) * ROW + 40;
  const boxes: string[] = [];
  const draw = (n: ProfileNode, x: number, depth: number) => {
    const us = totalUs.get(n.id) ?? 0;
    const w = us * scale;
    if (w < MIN_WIDTH) return;
    const f = n.callFrame;
    const name = f.functionName || '(anonymous)';
    const where = f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`;
    const y = height - 10 - (depth + 1) * ROW;
    const tip = `${name} ${where} — ${(us / 1000).toFixed(1)} ms, ${((us / Math.max(1, busy)) * 100).toFixed(1)}% of busy time`;
    const chars = Math.floor((w - 4) / CHAR_PX);
    const label = chars >= 3 ? (name.length <= chars ? name : `${name.slice(0, chars - 1)}…`) : '';
    boxes.push(
      `<g><title>${escape(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW - 1}" fill="${colour(f.url, name)}" rx="2"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${escape(label)}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of n.children ?? []) {
      const child = byId.get(c)!;
      if (skip(child)) continue;
      draw(child, cx, depth + 1);
      cx += (totalUs.get(child.id) ?? 0) * scale;
    }
  };
  let x = 0;
  for (const r of roots) {
    draw(r, x, 0);
    x += (totalUs.get(r.id) ?? 0) * scale;
  }
  const heading = `${title} — ${(busy / 1000).toFixed(0)} ms busy of ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms profiled`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="${FONT_PX}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="4" y="16" font-size="13">${escape(heading)}</text>`,
    `<text x="${WIDTH - 4}" y="16" text-anchor="end" fill="#555">orange: Cascade · blue: dependencies · grey: Node · red: V8 (GC, program)</text>`,
    ...boxes,
    '</svg>',
    '',
  ].join('\n');
}

if (process.argv[1]?.endsWith('flame-graph.ts')) {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const [file, out, title] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: flame-graph.ts <file.cpuprofile> [out.svg] [title]');
  const svg = flameGraphSvg(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, title ?? file.replace(/^.*\//, ''));
  if (out === undefined) process.stdout.write(svg);
  else writeFileSync(out, svg);
}
