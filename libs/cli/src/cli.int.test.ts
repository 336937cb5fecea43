// The real `cascade` binary (bin/cascade.mjs, as `npx cascade` runs it) as a child process
// against a running system: nats-server, an edge, the fan-out worker, history and presence.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startCascade, startNatsServer, uniqueName, type CascadeSystem, type NatsServerFixture } from '@cascade/testing';
import { DEV_SECRET } from './token.js';

const BIN = join(repoRoot(), 'libs', 'cli', 'bin', 'cascade.mjs');
const API_KEY = 'cli-test-api-key';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `cascade` process: its output so far, and its end. */
class Cli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly done: Promise<Run>;

  constructor(args: string[]) {
    // Env of the test run minus anything that would change the CLI's defaults.
    const { CASCADE_URL: _u, CASCADE_TOKEN: _t, CASCADE_HTTP: _h, NATS_URL: _n, RT_PREFIX: _p, ...env } = process.env;
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.done = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  async waitForStderr(text: string, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.stderr.includes(text)) {
      if (this.child.exitCode !== null) throw new Error(`cascade exited (${this.child.exitCode}) before printing "${text}": ${this.stderr}`);
      if (Date.now() > until) throw new Error(`cascade did not print "${text}" within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function cascade(...args: string[]): Promise<Run> {
  return new Cli(args).done;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

let nats: NatsServerFixture;
let system: CascadeSystem;
let ws: string;
let http: string;
const running: Cli[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  system = await startCascade({
    natsUrl: nats.url,
    edges: 1,
    services: ['fan-out-worker', 'history', 'presence'],
    env: { EDGE_API_KEY: API_KEY, PRESENCE_BATCH_INTERVAL: '200ms' },
  });
  ws = system.edges[0]!.url;
  http = `http://127.0.0.1:${system.edges[0]!.port}`;
});

afterAll(async () => {
  for (const c of running) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await system?.stop();
  await nats?.stop();
});

describe('cascade against a running system', () => {
  it('mints a token the edge accepts, signed with the development secret', async () => {
    const r = await cascade('token', '--user', 'alice', '--subs', 'chat:*,news', '--pubs', 'chat:*', '--ttl', '10m', '--json');
    expect(r.code).toBe(0);
    const { token, claims } = JSON.parse(r.stdout) as { token: string; claims: Record<string, unknown> };
    const { payload } = await jwtVerify(token, new TextEncoder().encode(DEV_SECRET));
    expect(payload).toMatchObject({ sub: 'alice', subs: ['chat:*', 'news'], pubs: ['chat:*'] });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(claims).toEqual(payload);
  });

  it('tails what is published, then reads it back from history', async () => {
    const ch = `chat:${uniqueName('cli')}`;
    const tail = new Cli(['tail', ch, '--limit', '2', '--timeout', '20s', '--json', '--url', ws, '--user', 'bob']);
    running.push(tail);
    await tail.waitForStderr(`subscribed to ${ch}`);

    const first = await cascade('publish', ch, '{"text":"one"}', '--url', ws, '--key', 'k-one', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ channel: ch, key: 'k-one', dup: false });
    const second = await cascade('publish', ch, '"two"', '--url', ws, '--user', 'dave');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^stored  ${ch}  key \\S+\\n$`));

    const t = await tail.done;
    expect(t.code, t.stderr).toBe(0);
    const messages = jsonLines(t.stdout);
    expect(messages.map((m) => [m['seq'], m['data']])).toEqual([[1, { text: 'one' }], [2, 'two']]);
    expect(messages[1]).toMatchObject({ channel: ch, from: 'dave' });
    expect(typeof messages[0]!['ep']).toBe('string');

    // Resuming from seq 0 replays what is retained, as history reads it.
    const [h, back, refused, replay] = await Promise.all([
      cascade('history', ch, '--http', http, '--api-key', API_KEY, '--json'),
      cascade('history', ch, '--http', http, '--api-key', API_KEY, '--back', '--limit', '1'),
      cascade('history', ch, '--http', http),
      cascade('tail', ch, '--since', '0', '--limit', '2', '--timeout', '10s', '--json', '--url', ws),
    ]);
    expect(h.code, h.stderr).toBe(0);
    const body = JSON.parse(h.stdout) as { seq: number; first: number; messages: { seq: number; data: unknown }[] };
    expect(body).toMatchObject({ seq: 2, first: 1 });
    expect(body.messages.map((m) => m.data)).toEqual([{ text: 'one' }, 'two']);

    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(new RegExp(`  ${ch}  #2  dave  "two"\\n$`));
    expect(back.stderr).toContain('more: --from 1 --back');

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/answered 401.*--api-key/);

    expect(replay.code, replay.stderr).toBe(0);
    expect(jsonLines(replay.stdout).map((m) => m['seq'])).toEqual([1, 2]);
  });

  it('shows a connected user in presence and the connection in stats; Ctrl-C ends a tail cleanly', async () => {
    const ch = `room:${uniqueName('cli')}`;
    const tail = new Cli(['tail', ch, '--url', ws, '--user', 'carol']);
    running.push(tail);
    await tail.waitForStderr(`subscribed to ${ch}`);

    // Presence learns connections from the edge's reports (every 500 ms): ask until it has
    // the subscription, which the edge reports after the connection.
    let members: { count?: number; members?: { user: string }[] } = {};
    for (let i = 0; i < 40 && members.count !== 1; i++) {
      const p = await cascade('presence', '--channel', ch, '--nats', nats.url, '--prefix', system.prefix, '--json');
      expect(p.code, p.stderr).toBe(0);
      members = JSON.parse(p.stdout) as typeof members;
      if (members.count !== 1) await new Promise((r) => setTimeout(r, 250));
    }
    expect(members).toMatchObject({ ch, count: 1, members: [{ user: 'carol' }] });

    const [status, human, stats, statsHuman] = await Promise.all([
      cascade('presence', 'carol', 'nobody', '--nats', nats.url, '--prefix', system.prefix, '--json'),
      cascade('presence', 'carol', 'nobody', '--nats', nats.url, '--prefix', system.prefix),
      cascade('stats', '--http', http, '--json'),
      cascade('stats', '--http', http),
    ]);
    expect(JSON.parse(status.stdout)).toMatchObject({ users: { carol: { online: true, connections: 1 }, nobody: { online: false, lastSeen: null } } });
    expect(human.stdout).toMatch(/^carol +online +1 connection \(.+: 1\) +last seen now\nnobody +offline +0 connections +never seen\n$/);
    expect(stats.code, stats.stderr).toBe(0);
    const s = JSON.parse(stats.stdout) as { health: Record<string, unknown>; metrics: Record<string, unknown> };
    expect(s.health).toMatchObject({ status: 'ok' });
    expect(s.metrics['connections']).toBeGreaterThanOrEqual(1);
    expect(s.metrics['subscriptions']).toBeGreaterThanOrEqual(1);
    expect((s.metrics['publishes'] as Record<string, number>)['stored']).toBeGreaterThanOrEqual(2);
    expect(statsHuman.stdout).toMatch(/\n {2}connections +[1-9]\d* +\d+ opened since start\n/);

    tail.child.kill('SIGINT');
    const t = await tail.done;
    expect(t.code).toBe(0);
    expect(t.stderr).toContain('0 messages in');
  });

  it('exits 2 with a message for usage mistakes', async () => {
    // The full list is unit-tested (cli.test.ts); these go through the real binary.
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['publish', 'news', 'hello'], /data must be JSON.*'"hello"'/],
      [['tail', 'news', '--limit', 'lots'], /--limit must be an integer from 1/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cascade(...args)));
    runs.forEach((r, i) => {
      expect(r.code, `${cases[i]![0].join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
    const help = await cascade('tail', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: cascade tail <channel...>');
  });

  it('exits 1 with a clear message when nothing answers', async () => {
    const port = await freePort();
    const [pub, stats, presence] = await Promise.all([
      cascade('publish', 'news', '1', '--url', `ws://127.0.0.1:${port}/`, '--connect-timeout', '1s'),
      cascade('stats', '--http', `http://127.0.0.1:${port}`),
      cascade('presence', 'alice', '--nats', `nats://127.0.0.1:${port}`, '--timeout', '1s'),
    ]);
    expect([pub.code, stats.code, presence.code]).toEqual([1, 1, 1]);
    expect(pub.stderr).toMatch(new RegExp(`cannot connect to ws://127.0.0.1:${port}/ within 1 s: .*ECONNREFUSED`));
    expect(stats.stderr).toMatch(new RegExp(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED`));
    expect(presence.stderr).toMatch(/cannot connect to NATS at nats:\/\/127.0.0.1:\d+/);
    // A token the edge does not accept: refused for good, not retried until the deadline.
    const forged = await cascade('publish', 'news', '1', '--url', ws, '--user', 'eve', '--secret', 'x'.repeat(40));
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/the edge at ws:\S+ refused the connection: Unauthorized/);
    // NATS up but no presence service on that prefix: said so, not a bare timeout.
    const nobody = await cascade('presence', 'alice', '--nats', nats.url, '--prefix', 'nosuchprefix', '--timeout', '2s');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('no presence service answers');
  });
});
