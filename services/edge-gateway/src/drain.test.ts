import { describe, expect, it } from 'vitest';
import { CloseCode } from '@cascade/protocol';
import { drain, type DrainingConnection, type DrainTarget } from './drain.js';

class Node implements DrainTarget {
  accepting = true;
  open = new Set<Conn>();
  stopAccepting() {
    this.accepting = false;
  }
  connections() {
    return this.open;
  }
  get openConnections() {
    return this.open.size;
  }
}

class Conn implements DrainingConnection {
  advice: number | undefined;
  closedWith: number | undefined;
  constructor(private readonly node: Node, private readonly leavesOnAdvice: boolean) {
    node.open.add(this);
  }
  advise(delay: number) {
    this.advice = delay;
    if (this.leavesOnAdvice) this.node.open.delete(this);
  }
  close(code: number) {
    this.closedWith = code;
    this.node.open.delete(this);
  }
}

describe('drain', () => {
  it('stops accepting, spreads reconnect delays over the window, and ends early when everyone left', async () => {
    const node = new Node();
    const conns = Array.from({ length: 100 }, () => new Conn(node, true));
    let r = 0;
    const report = await drain(node, { windowMs: 1000, graceMs: 500, random: () => (r++ % 10) / 10, sleep: async () => undefined });
    expect(node.accepting).toBe(false);
    expect(report).toEqual({ advised: 100, forced: 0 });
    const delays = conns.map((c) => c.advice!);
    expect(Math.min(...delays)).toBe(0);
    expect(Math.max(...delays)).toBe(900);
    expect(delays.every((d) => d >= 0 && d < 1000)).toBe(true);
    expect(conns.every((c) => c.closedWith === undefined)).toBe(true);
  });

  it('closes the connections still open after window and grace with 1001', async () => {
    const node = new Node();
    const stay = new Conn(node, false);
    const leave = new Conn(node, true);
    const report = await drain(node, { windowMs: 30, graceMs: 30 });
    expect(report).toEqual({ advised: 2, forced: 1 });
    expect(stay.closedWith).toBe(CloseCode.GoingAway);
    expect(leave.closedWith).toBeUndefined();
  });
});
