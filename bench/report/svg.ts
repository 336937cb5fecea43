// Hand-written SVG bar charts (no dependency): one horizontal bar per system, Cascade's bars
// highlighted, the value printed at the end of each bar.

export interface Bar {
  label: string;
  value: number;
  highlight?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChart(o: { title: string; unit: string; bars: Bar[]; note?: string; format?: (v: number) => string }): string {
  const fmt = o.format ?? ((v: number) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: 1 }) : 'n/a'));
  const labelW = 260;
  const barMax = 420;
  const rowH = 28;
  const top = 44;
  const width = labelW + barMax + 140;
  const height = top + o.bars.length * rowH + (o.note ? 36 : 16);
  const max = Math.max(...o.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-9);
  const rows = o.bars.map((b, i) => {
    const y = top + i * rowH;
    const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * barMax) : 0;
    const fill = b.highlight ? '#d9480f' : '#4c6ef5';
    return [
      `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${fill}" rx="2"/>`,
      `<text x="${labelW + w + 6}" y="${y + 17}">${esc(fmt(b.value))} ${esc(o.unit)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    ...rows,
    o.note ? `<text x="12" y="${height - 12}" font-size="11" fill="#555">${esc(o.note)}</text>` : '',
    '</svg>',
    '',
  ].join('\n');
}
