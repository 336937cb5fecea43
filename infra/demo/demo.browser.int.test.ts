// The demo web app (infra/demo) in a real browser: Debian's Chromium driven by playwright-core
// against a real system (nats-server, fan-out worker, history, presence, two edges serving
// the page). Chat with presence and typing across two edges; an edge restart that the page
// shows and recovers from with every message exactly once; and SSE mode, where the browser's
// own EventSource reconnect (Last-Event-ID) resumes the stream across an edge restart.
// Screenshots of each step go to test-results/demo/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectNats } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Contract } from '@cascade/nats';
import { eventually, startCascade, startNatsServer, type CascadeSystem, type EdgeProcess, type NatsServerFixture } from '@cascade/testing';
import { launchChromium, screenshot } from './browser.js';
import { buildDemo } from './build.js';
import { startTicker, TICKER_CHANNEL } from './ticker.js';
import type { DemoHook } from './web/hook-types.js';

/** Waits in the browser are generous: the machine is shared and has two cores. */
const WAIT_MS = 20_000;

let dir: string;
let nats: NatsServerFixture;
let system: CascadeSystem;
let browser: Browser;
let nc: NatsConnection;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cascade-demo-'));
  const built = await buildDemo(join(dir, 'site'));
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 2,
    env: {
      EDGE_STATIC_DIR: built.outDir,
      EDGE_DEV_TOKENS: 'on',
      // Tokens only: every name on the page is a dev-token user.
      EDGE_ANONYMOUS: 'off',
      EDGE_NAMESPACES: '{}',
      // Presence: a closed page leaves the member list within a few seconds.
      PRESENCE_GRACE_PERIOD: '1s',
      PRESENCE_BATCH_INTERVAL: '200ms',
      // A browser's EventSource comes back half a second after its stream broke.
      EDGE_SSE_RETRY: '500',
    },
  });
  nc = await connectNats({ servers: nats.url });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await nc?.close();
  await system?.stop();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function pageUrl(edge: EdgeProcess, query: string, room?: string): string {
  return `http://127.0.0.1:${edge.port}/demo/?${query}${room === undefined ? '' : `#room=${room}`}`;
}

/** A page in its own browser context (own cookies and storage: another person). */
async function open(url: string, test: string, who: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => console.error(`page error on ${url}: ${err.message}`));
  // What the page looked like when its test failed.
  onTestFailed(async () => {
    if (!page.isClosed()) await screenshot(page, test, `${who}-at-failure`).catch(() => undefined);
  });
  await page.goto(url);
  return page;
}

/** Waits until the banner's text matches; fails with the text it had. */
async function banner(page: Page, kind: string, text: RegExp): Promise<void> {
  await expect.poll(() => page.locator('#status').getAttribute('data-kind'), { timeout: WAIT_MS }).toBe(kind);
  await expect.poll(() => page.locator('#status').textContent(), { timeout: WAIT_MS }).toMatch(text);
}

function hook(page: Page): Promise<DemoHook> {
  return page.evaluate(() => {
    const h = (globalThis as { cascadeDemo?: DemoHook }).cascadeDemo;
    if (!h) throw new Error('window.cascadeDemo is not there yet');
    return JSON.parse(JSON.stringify(h)) as DemoHook;
  });
}

/** Waits until the page's test hook satisfies `ok`; fails with the last snapshot. */
async function until(page: Page, what: string, ok: (h: DemoHook) => boolean, timeoutMs = WAIT_MS): Promise<DemoHook> {
  try {
    return await eventually(what, () => hook(page).catch(() => undefined as unknown as DemoHook), (h) => h !== undefined && ok(h), timeoutMs);
  } catch (err) {
    // The whole snapshot and the page's own lines say more than the first 500 characters.
    const last = await hook(page).catch(() => undefined);
    const lines = await page.$$eval('#messages li', (lis) => lis.map((li) => li.textContent)).catch(() => []);
    const logs = process.env.DEMO_DEBUG_DIR;
    if (logs) {
      mkdirSync(logs, { recursive: true });
      for (const [name, ps] of system.services) for (const [i, p] of ps.entries()) writeFileSync(join(logs, `${name}-${i}.log`), p.output());
    }
    throw new Error(`${what}: not reached within ${timeoutMs} ms\nhook: ${JSON.stringify(last)}\nchat lines: ${JSON.stringify(lines)}`, { cause: err });
  }
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#send-text', text);
  await page.press('#send-text', 'Enter');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The seqs rendered in the chat list, in DOM order. */
function renderedSeqs(page: Page): Promise<number[]> {
  return page.$$eval('#messages li[data-seq]', (lis) => lis.map((li) => Number(li.getAttribute('data-seq'))));
}

describe('demo web app in Chromium', () => {
  it('chat: two people on two edges see each other, their typing, their messages, and a leave', { timeout: 90_000 }, async () => {
    const [edge1, edge2] = system.edges as [EdgeProcess, EdgeProcess];
    const room = 'chat1';
    const alice = await open(pageUrl(edge1, 'user=alice', room), 'chat', 'alice');
    await until(alice, 'alice connected', (h) => h.status.kind === 'connected');
    const bob = await open(pageUrl(edge2, 'user=bob', room), 'chat', 'bob');
    await until(bob, 'bob connected', (h) => h.status.kind === 'connected');
    expect((await hook(alice)).transport).toBe('websocket');

    // Presence: alice learns of bob from his join, bob of alice from the presence answer at subscribe.
    await alice.locator('#members li[data-user="bob"]').waitFor();
    await bob.locator('#members li[data-user="alice"]').waitFor();

    await alice.type('#send-text', 'hel');
    await bob.locator('#typing', { hasText: 'alice is typing' }).waitFor();
    await screenshot(bob, 'chat', 'bob-sees-alice-typing');

    await say(alice, 'hello bob');
    await bob.locator('#messages li', { hasText: 'hello bob' }).locator('.from', { hasText: 'alice' }).waitFor();
    await say(bob, 'hi alice');
    await alice.locator('#messages li', { hasText: 'hi alice' }).locator('.from', { hasText: 'bob' }).waitFor();
    for (const page of [alice, bob]) {
      const h = await until(page, 'both messages delivered', (x) => x.chat.length === 2);
      expect(h.chat).toEqual([
        { seq: 1, from: 'alice', text: 'hello bob' },
        { seq: 2, from: 'bob', text: 'hi alice' },
      ]);
      expect(h.received[`chat:${room}`]).toEqual([1, 2]);
    }
    // Her own message ended the typing indicator.
    await bob.locator('#typing', { hasText: /^$/ }).waitFor();
    await screenshot(alice, 'chat', 'alice-after-exchange');
    await screenshot(bob, 'chat', 'bob-after-exchange');

    await bob.context().close();
    await alice.locator('#members li[data-user="bob"]').waitFor({ state: 'detached' });
    expect((await hook(alice)).members).toEqual(['alice']);
    await screenshot(alice, 'chat', 'alice-after-bob-left');
  });

  it('edge restart: the page shows the outage, reconnects to the restarted edge and has every message once, in order', { timeout: 120_000 }, async () => {
    const [edge1, edge2] = system.edges as [EdgeProcess, EdgeProcess];
    const room = 'restart1';
    const channel = `chat:${room}`;
    const alice = await open(pageUrl(edge1, 'user=alice', room), 'restart', 'alice');
    const bob = await open(pageUrl(edge2, 'user=bob', room), 'restart', 'bob');
    for (const p of [alice, bob]) await until(p, 'connected', (h) => h.status.kind === 'connected');
    await say(alice, 'before 1');
    await until(bob, 'bob got the first', (h) => h.received[channel]?.length === 1);
    await say(bob, 'before 2');
    await until(alice, 'alice got both', (h) => h.received[channel]?.length === 2);

    await edge1.process.kill();
    await until(alice, 'alice sees the outage', (h) => h.status.kind === 'reconnecting');
    // (or "connection lost, no token from the edge": the token comes from the edge too)
    await banner(alice, 'reconnecting', /^Disconnected \(connection lost.*\), reconnecting/);
    await screenshot(alice, 'restart', 'alice-disconnected');

    // Published while alice's edge is down: bob's page on the other edge, acknowledged (stored).
    for (const text of ['during 3', 'during 4', 'during 5']) await say(bob, text);
    await until(bob, 'bob got his own three', (h) => h.received[channel]?.length === 5);
    expect((await hook(alice)).received[channel]).toEqual([1, 2]);

    await system.startEdge({ EDGE_PORT: String(edge1.port) });
    const back = await until(alice, 'alice caught up', (h) => h.status.kind === 'caught-up' && h.received[channel]?.length === 5, 45_000);
    expect(back.received[channel]).toEqual(range(1, 5));
    expect(back.chat.map((l) => l.text)).toEqual(['before 1', 'before 2', 'during 3', 'during 4', 'during 5']);
    expect(back.status.text).toContain(`caught up (3 missed messages recovered: ${channel}: 3)`);
    expect(back.recoveryImpossible).toEqual([]);
    expect(back.disconnects).toBeGreaterThanOrEqual(1);
    expect(await renderedSeqs(alice)).toEqual(range(1, 5));
    await banner(alice, 'caught-up', /caught up \(3 missed messages recovered/);
    await screenshot(alice, 'restart', 'alice-caught-up');

    // And live again, both ways, through the restarted edge.
    await say(alice, 'after 6');
    await bob.locator('#messages li', { hasText: 'after 6' }).waitFor();
    const end = await until(alice, 'alice got her own', (h) => h.received[channel]?.length === 6);
    expect(end.received[channel]).toEqual(range(1, 6));
    for (const c of [alice.context(), bob.context()]) await c.close();
  });

  it("SSE mode: the browser's own EventSource reconnect resumes the ticker across an edge restart, nothing lost or repeated", { timeout: 120_000 }, async () => {
    const edge2 = system.edges[1]!;
    const ticker = startTicker({ nc, contract: new Contract({ prefix: system.prefix, partitions: 16 }), intervalMs: 100 });
    try {
      const carol = await open(pageUrl(edge2, 'user=carol&transport=sse&view=ticker'), 'sse', 'carol');
      const live = await until(carol, 'carol receives the ticker over SSE', (h) => h.status.kind === 'connected' && (h.received[TICKER_CHANNEL]?.length ?? 0) >= 5);
      expect(live.transport).toBe('sse');
      expect(live.eventSources).toBe(1);
      await screenshot(carol, 'sse', 'ticker-live');

      await edge2.process.kill();
      await until(carol, 'carol sees the outage', (h) => h.status.kind === 'reconnecting');
      await banner(carol, 'reconnecting', /^Disconnected \(connection lost.*\), reconnecting/);
      // The ticker goes on (it publishes through NATS, not through an edge): a second's worth
      // of messages is missed by the page.
      const atKill = ticker.published;
      await eventually('ticker publishes during the outage', () => ticker.published, (n) => n >= atKill + 10, 30_000);
      await screenshot(carol, 'sse', 'disconnected');

      await system.startEdge({ EDGE_PORT: String(edge2.port) });
      // The channel is only the ticker's, so its seq is the ticker's n.
      const target = ticker.published + 5;
      const back = await until(carol, 'carol resumed past the outage', (h) => Math.max(0, ...(h.received[TICKER_CHANNEL] ?? [])) >= target, 45_000);
      const seqs = back.received[TICKER_CHANNEL]!;
      expect(seqs, 'every seq once, in order, no hole').toEqual(range(seqs[0]!, seqs[seqs.length - 1]!));
      // Resumed by the same EventSource object: the browser reconnected by itself, sending
      // Last-Event-ID, and the edge replayed from there.
      expect(back.eventSources).toBe(1);
      // ... and not from a `since=` of ours: the stream was opened once, without one.
      expect(back.eventSourceUrls).toHaveLength(1);
      expect(back.eventSourceUrls[0]).not.toContain('since=');
      expect(back.recoveryImpossible).toEqual([]);
      await banner(carol, 'caught-up', /^Connected via SSE to .*, caught up \(\d+ missed messages recovered: demo:ticker: \d+\)$/);
      expect(back.recovered, JSON.stringify({ status: back.status, connects: back.connects, disconnects: back.disconnects, n: seqs.length, first: seqs[0], errors: back.errors })).toBeGreaterThanOrEqual(10);
      await screenshot(carol, 'sse', 'caught-up');

      // Sending in SSE mode: the SDK POSTs it with carol's token; it comes back on the stream.
      await carol.click('#tab-chat');
      await say(carol, 'sent over HTTP');
      const chat = await until(carol, 'carol got her own message back', (h) => h.chat.length === 1);
      expect(chat.chat).toEqual([{ seq: 1, from: 'carol', text: 'sent over HTTP' }]);
      await screenshot(carol, 'sse', 'chat');
      await carol.context().close();
    } finally {
      await ticker.stop();
    }
  });
});
