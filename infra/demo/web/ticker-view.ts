// The live ticker dashboard: messages per second, delivery latency p50/p99 over the last
// messages, the last seq, a sparkline and the newest messages.
import { byId, clock, el } from './dom.js';
import { LatencyWindow, RateMeter, sparklinePoints } from './stats.js';

const LIST_SIZE = 12;

export class TickerView {
  private readonly latency = new LatencyWindow(200);
  private readonly rate = new RateMeter(3_000);
  private readonly list = byId<HTMLOListElement>('t-list');
  private readonly spark: SVGPolylineElement;
  private lastSeq: number | undefined;
  private lastN: number | undefined;
  private received = 0;
  private recovered = 0;
  private dirty = true;

  constructor() {
    const line = byId('t-spark').querySelector('polyline');
    if (!line) throw new Error('demo page: the sparkline has no polyline');
    this.spark = line;
    byId('t-window').textContent = String(this.latency.size);
  }

  /** A ticker message; `recovered` ones (missed while disconnected) do not count as latency samples. */
  tick(m: { seq: number; n: number | undefined; sent: number | undefined; now: number; recovered: boolean }): void {
    this.received++;
    this.lastSeq = m.seq;
    this.lastN = m.n;
    this.rate.add(m.now);
    const lat = m.sent === undefined ? undefined : m.now - m.sent;
    if (m.recovered) this.recovered++;
    else if (lat !== undefined) this.latency.add(Math.max(0, lat));
    const text = `seq ${m.seq}  n=${m.n ?? '?'}  ${lat === undefined ? '' : `${Math.round(lat)} ms`}${m.recovered ? '  (recovered)' : ''}`;
    const li = el('li', m.recovered ? 'recovered' : '');
    li.append(el('time', '', clock(m.now)), document.createTextNode(text));
    this.list.prepend(li);
    while (this.list.children.length > LIST_SIZE) this.list.lastElementChild?.remove();
    this.dirty = true;
  }

  /** Called a few times per second: the rate decays even without messages. */
  render(now: number): void {
    byId('t-rate').textContent = this.rate.perSecond(now).toFixed(1);
    if (!this.dirty) return;
    this.dirty = false;
    const ms = (v: number | undefined) => (v === undefined ? '–' : `${Math.round(v)} ms`);
    byId('t-p50').textContent = ms(this.latency.percentile(50));
    byId('t-p99').textContent = ms(this.latency.percentile(99));
    byId('t-seq').textContent = this.lastSeq === undefined ? '–' : `${this.lastSeq}${this.lastN === undefined ? '' : ` (n=${this.lastN})`}`;
    byId('t-count').textContent = String(this.received);
    byId('t-recovered').textContent = String(this.recovered);
    const values = this.latency.values();
    byId('t-max').textContent = ms(values.length ? Math.max(...values) : undefined);
    this.spark.setAttribute('points', sparklinePoints(values, 600, 80));
  }
}
