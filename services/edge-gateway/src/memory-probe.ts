// Memory per idle connection on one edge: a development tool, not a test. It starts a
// nats-server and one edge process (or, with --raw, the bare uWebSockets.js peer from bench/),
// opens N idle WebSocket connections from a separate client process (each connects, with a
// token when --token, and subscribes to one shared channel, like bench's idle scenario), and
// reports the server's RSS and V8 heap growth per connection, measured after a full GC.
//
//   node --import @cascade/ts-loader services/edge-gateway/src/memory-probe.ts [--n 5000] [--token] [--raw]
//        [--snapshot <dir>]   (also heap snapshots before/after, and what grew, by constructor)
//        [--edge <main.ts>]   (another checkout's edge, e.g. `git archive` of an older commit)
//        [--alloc]            (where the server allocates while the second half connects,
//                              garbage included: sampling heap profile, top functions)
//
// `heapPerConnection` (V8 heap in use after a full GC) is what the connections hold in
// JavaScript; RSS also counts uWS's native sockets and what the heap keeps committed (the
// young generation grows to 2 x 16 MiB under a burst of connects and stays: a fixed cost
// that weighs per connection at small N; compare N = 5,000 with N = 18,000).
//
// The server's heap is read by an agent loaded into it (NODE_OPTIONS=--import this file, role
// `agent`): on SIGUSR2 it runs a full GC and writes process.memoryUsage() (and a heap
// snapshot when asked) to a file the probe reads. Development only: it uses @cascade/testing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';

interface Usage {
  rss: number;
  /** V8 heap committed (used, free and the young generation's semi-spaces). */
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** In the server process: measure (after a full GC) on SIGUSR2; the request file says what. */
async function agent(): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const base = process.env.MEMORY_PROBE_FILE!;
  const { Session } = await import('node:inspector');
  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => inspector.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  process.on('SIGUSR2', async () => {
    const req = existsSync(`${base}.req`) ? readFileSync(`${base}.req`, 'utf8').trim() : '';
    if (req === 'sample start') await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    if (req.startsWith('sample stop ')) writeFileSync(req.slice('sample stop '.length), JSON.stringify(((await post('HeapProfiler.stopSampling')) as { profile: unknown }).profile));
    for (let i = 0; i < 3; i++) gc();
    const u = process.memoryUsage();
    if (req.startsWith('snapshot ')) v8.writeHeapSnapshot(req.slice('snapshot '.length));
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size]));
    writeFileSync(`${base}.tmp`, JSON.stringify({ rss: u.rss, heapTotal: u.heapTotal, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, spaces }));
    // Renamed into place: the probe never reads half a file.
    writeFileSync(base, readFileSync(`${base}.tmp`));
    rmSync(`${base}.tmp`);
  });
}

/** The client process: N idle connections, opened a few hundred at a time; "ready" on stdout. */
async function clients(): Promise<void> {
  const { default: WebSocket } = await import('ws');
  const { encode, decode } = await import('@msgpack/msgpack');
  const url = process.env.MEMORY_PROBE_URL!;
  const n = Number(process.env.MEMORY_PROBE_N);
  const raw = process.env.MEMORY_PROBE_RAW === '1';
  const secret = process.env.MEMORY_PROBE_SECRET;
  const sign = secret === undefined ? undefined : await signer(secret);
  const held: InstanceType<typeof WebSocket>[] = [];
  let next = Number(process.env.MEMORY_PROBE_FROM ?? 0);
  const openOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(raw ? `${url}?ch=probe:idle` : url, { perMessageDeflate: false });
      held.push(ws);
      ws.binaryType = 'nodebuffer';
      ws.on('error', reject);
      ws.on('open', () => {
        if (raw) return;
        ws.send(encode(sign ? { t: 1, token: sign(`probe${i}`) } : { t: 1 }));
      });
      ws.on('message', (data: Buffer) => {
        if (raw) return resolve();
        const f = decode(data) as { t: number; id?: number; code?: number };
        if (f.t === 101) ws.send(encode({ t: 2, id: 1, ch: 'probe:idle' }));
        else if (f.t === 102 && f.id === 1) resolve();
        else if (f.t === 106) reject(new Error(`refused: ${JSON.stringify(f)}`));
      });
    });
  const batch = async (count: number) => {
    const todo = Array.from({ length: count }, () => next++);
    const lanes = Array.from({ length: 200 }, async () => {
      for (let i = todo.shift(); i !== undefined; i = todo.shift()) await openOne(i);
    });
    await Promise.all(lanes);
  };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const count = Number(line);
    if (!Number.isInteger(count)) break;
    await batch(count);
    process.stdout.write(`ready ${held.length}\n`);
  }
  for (const ws of held) ws.terminate();
  process.exit(0);
}

async function signer(secret: string): Promise<(sub: string) => string> {
  const { createHmac } = await import('node:crypto');
  const b64 = (s: string) => Buffer.from(s).toString('base64url');
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return (sub) => {
    const body = b64(JSON.stringify({ sub, exp }));
    return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
  };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The orchestrator: servers, clients, readings, report. */
async function probe(): Promise<void> {
  const { startNatsServer, startCascade, freePort, repoRoot, spawnService } = await import('@cascade/testing');
  const edgeEntry = arg('edge');
  const n = Number(arg('n') ?? 5000);
  const token = process.argv.includes('--token');
  const raw = process.argv.includes('--raw');
  const snapshots = arg('snapshot');
  const secret = 'memory-probe-secret-0123456789-0123456789';
  const work = join(tmpdir(), `memory-probe-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const file = join(work, 'usage.json');
  const env = {
    MEMORY_PROBE_ROLE: 'agent',
    MEMORY_PROBE_FILE: file,
    // The loader first: the agent is TypeScript too.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${import.meta.resolve('@cascade/ts-loader')} --import ${import.meta.url}`.trim(),
  };
  const stops: Array<() => Promise<unknown>> = [];
  let pid: number;
  let url: string;
  try {
    if (raw) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', '@cascade/ts-loader', join(repoRoot(), 'bench/peers/uws-server.ts')], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
      stops.push(async () => child.kill('SIGKILL'));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('peer ready') && resolve());
        child.once('exit', () => reject(new Error('uws peer exited')));
      });
      pid = child.pid!;
      url = `ws://127.0.0.1:${port}/`;
    } else {
      const nats = await startNatsServer();
      stops.push(() => nats.stop());
      const system = await startCascade({
        natsUrl: nats.url,
        edges: 0,
        // History answers where a subscription starts (the first subscriber of the channel asks).
        services: ['history'],
        env: { EDGE_JWT_HS256_SECRET: secret, EDGE_MAX_CONNECTIONS: String(n + 1000) },
      });
      stops.push(() => system.stop());
      if (edgeEntry === undefined) {
        const edge = await system.startEdge(env);
        pid = edge.process.pid;
        url = edge.url;
      } else {
        const port = await freePort();
        const edge = await spawnService({ name: 'edge-gateway', entry: edgeEntry, env: { ...system.env, ...env, EDGE_PORT: String(port) }, ready: 'edge-gateway ready', timeoutMs: 30_000 });
        stops.unshift(() => edge.stop());
        pid = edge.pid;
        url = `ws://127.0.0.1:${port}/`;
      }
    }
    const read = async (request?: string): Promise<Usage> => {
      rmSync(file, { force: true });
      writeFileSync(`${file}.req`, request ?? '');
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 600 && !existsSync(file); i++) await sleep(100);
      return JSON.parse(readFileSync(file, 'utf8')) as Usage;
    };
    const c: ChildProcess = spawn(process.execPath, ['--import', '@cascade/ts-loader', new URL(import.meta.url).pathname], {
      env: { ...process.env, MEMORY_PROBE_ROLE: 'clients', MEMORY_PROBE_URL: url, MEMORY_PROBE_N: String(n), MEMORY_PROBE_RAW: raw ? '1' : '0', ...(token ? { MEMORY_PROBE_SECRET: secret } : {}) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    stops.unshift(async () => c.kill('SIGKILL'));
    const replies = createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
    const open = async (count: number) => {
      c.stdin!.write(`${count}\n`);
      const r = await replies.next();
      if (r.done) throw new Error('the client process ended');
    };
    // A few connections first, so one-time costs (first topic, code paths) are not counted.
    await open(50);
    await sleep(1500);
    const alloc = process.argv.includes('--alloc') ? join(work, 'alloc.heapprofile') : undefined;
    const before = await read(snapshots && `snapshot ${join(snapshots, 'before.heapsnapshot')}`);
    await open(Math.floor(n / 2));
    await sleep(1500);
    const half = await read(alloc && 'sample start');
    await open(n - Math.floor(n / 2));
    await sleep(1500);
    if (alloc) await read(`sample stop ${alloc}`);
    const after = await read(snapshots && `snapshot ${join(snapshots, 'after.heapsnapshot')}`);
    const per = (a: Usage, b: Usage, k: keyof Usage, count: number) => Math.round((b[k] - a[k]) / count);
    const second = n - Math.floor(n / 2);
    const result = {
      target: raw ? 'raw uWebSockets.js' : token ? 'edge, token (personal channel)' : 'edge, anonymous',
      connections: n,
      rssPerConnection: per(before, after, 'rss', n),
      rssPerConnectionSecondHalf: per(half, after, 'rss', second),
      heapPerConnection: per(before, after, 'heapUsed', n),
      heapCommittedPerConnection: per(before, after, 'heapTotal', n),
      heapPerConnectionSecondHalf: per(half, after, 'heapUsed', second),
      externalPerConnection: per(before, after, 'external', n),
      before,
      after,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (snapshots) process.stdout.write(heapDiff(join(snapshots, 'before.heapsnapshot'), join(snapshots, 'after.heapsnapshot'), n));
    if (alloc) process.stdout.write(allocations(alloc, second));
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Bytes allocated per connection (garbage included) by the functions that allocated them. */
function allocations(path: string, n: number): string {
  interface Node {
    callFrame: { functionName: string; url: string; lineNumber: number };
    selfSize: number;
    children: Node[];
  }
  const root = (JSON.parse(readFileSync(path, 'utf8')) as { head: Node }).head;
  const self = new Map<string, number>();
  let total = 0;
  const walk = (x: Node) => {
    const f = x.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + x.selfSize);
    total += x.selfSize;
    for (const c of x.children) walk(c);
  };
  walk(root);
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  return `\nallocated per connection while connecting (garbage included): ${Math.round(total / n)} bytes; by function\n${rows.map(([k, v]) => `  ${k.slice(0, 100).padEnd(100)} ${Math.round(v / n).toString().padStart(7)}`).join('\n')}\n`;
}

/** What grew between two heap snapshots, by node type and constructor name, per connection. */
function heapDiff(beforePath: string, afterPath: string, n: number): string {
  const tally = (path: string) => {
    const s = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
    const fields = s.snapshot.meta.node_fields;
    const types = s.snapshot.meta.node_types[0];
    const [T, N, S] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
    const out = new Map<string, { count: number; size: number }>();
    for (let i = 0; i < s.nodes.length; i += fields.length) {
      const type = types[s.nodes[i + T]!]!;
      const name = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' ? s.strings[s.nodes[i + N]!]! : '';
      const key = `${type} ${name.slice(0, 60)}`;
      const e = out.get(key) ?? { count: 0, size: 0 };
      e.count++;
      e.size += s.nodes[i + S]!;
      out.set(key, e);
    }
    return out;
  };
  const a = tally(beforePath);
  const b = tally(afterPath);
  const rows = [...b].map(([k, v]) => ({ k, count: (v.count - (a.get(k)?.count ?? 0)) / n, bytes: (v.size - (a.get(k)?.size ?? 0)) / n })).filter((r) => r.bytes > 4 || r.count > 0.5);
  rows.sort((x, y) => y.bytes - x.bytes);
  return `\nheap growth per connection (type constructor: objects, bytes)\n${rows.slice(0, 40).map((r) => `  ${r.k.padEnd(70)} ${r.count.toFixed(2).padStart(7)} ${r.bytes.toFixed(0).padStart(7)}`).join('\n')}\n`;
}

// Last, so every declaration above is initialised.
const role = process.env.MEMORY_PROBE_ROLE;
if (role === 'agent') await agent();
else if (role === 'clients') await clients();
else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await probe();
