// Runs a local nats-server (JetStream on by default) as a test fixture on free loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { exitOf, isRunning, terminate, describeExit } from './child.js';
import { makeTempDir, removeTempDir, trackChild } from './cleanup.js';
import { natsServerBinary } from './nats-binary.js';
import { renderNatsConfig, type NatsConfigInput } from './nats-config.js';
import { isHealthy } from './nats-monitor.js';
import { OutputLog } from './output.js';
import { freePort } from './ports.js';
import { uniqueName } from './names.js';
import { sleep } from './wait.js';

export interface NatsServerFixture {
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly name: string;
  /** Path of the generated config file that start and restart use. */
  readonly configFile: string;
  /** Combined stdout+stderr of every run so far. */
  output(): string;
  /** SIGTERM, SIGKILL after 5 s, then remove the temp dir unless keepStoreDir. Idempotent. */
  stop(o?: { keepStoreDir?: boolean }): Promise<void>;
  /** SIGKILL now and wait for exit; the store dir is kept for restart(). */
  kill(): Promise<void>;
  /** Start again on the same ports, config and store dir; a running server is stopped first. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartNatsServerOptions {
  jetstream?: boolean;
  config?: string;
  name?: string;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;

export class NatsStartError extends Error {
  constructor(
    message: string,
    // Another process can grab a port between freePort() and the server binding it.
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'NatsStartError';
  }
}

export class LocalNatsServer implements NatsServerFixture {
  readonly url: string;
  readonly storeDir: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private readonly log = new OutputLog();
  private runs = 0;
  private removed = false;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly monitorPort: number,
    readonly dir: string,
    config: Omit<NatsConfigInput, 'name' | 'port' | 'monitorPort' | 'storeDir'>,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
    this.storeDir = join(dir, 'store');
    this.configFile = join(dir, 'nats-server.conf');
    mkdirSync(this.storeDir, { recursive: true });
    writeFileSync(this.configFile, renderNatsConfig({ ...config, name, port, monitorPort, storeDir: this.storeDir }));
  }

  output(): string {
    return this.log.all();
  }

  /** Spawns the process without waiting for readiness (a cluster node is only healthy once its peers are up). */
  launch(): void {
    if (this.removed) {
      throw new Error(`nats-server ${this.name}: its temp dir was removed by stop(); use kill() or stop({ keepStoreDir: true }) before restart()`);
    }
    if (this.child !== undefined && isRunning(this.child)) throw new Error(`nats-server ${this.name} is already running`);
    this.runs += 1;
    if (this.runs > 1) this.log.append(`\n--- restart #${this.runs - 1} of ${this.name} ---\n`);
    const child = spawn(natsServerBinary(), ['-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    exitOf(child);
    trackChild(child);
    this.log.attach(child);
    this.child = child;
  }

  /** Polls /healthz until 200; rejects with the output tail if the process exits or the timeout passes. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const child = this.child;
    if (child === undefined) throw new Error(`nats-server ${this.name} was never launched`);
    const deadline = Date.now() + timeoutMs;
    let lastDetail = 'no response yet';
    for (;;) {
      if (!isRunning(child)) {
        const exit = await exitOf(child);
        throw this.startError(`exited during startup (${describeExit(exit)})`);
      }
      const health = await isHealthy(this.monitorPort);
      if (health.ok) return;
      lastDetail = health.detail;
      if (Date.now() > deadline) {
        await terminate(child, 'SIGKILL', 0);
        throw this.startError(`not healthy after ${timeoutMs} ms (last /healthz: ${lastDetail})`);
      }
      await sleep(50);
    }
  }

  async stop(o?: { keepStoreDir?: boolean }): Promise<void> {
    if (this.child !== undefined) await terminate(this.child, 'SIGTERM', STOP_GRACE_MS);
    if (!o?.keepStoreDir && !this.removed) {
      removeTempDir(this.dir);
      this.removed = true;
    }
  }

  async kill(): Promise<void> {
    if (this.child !== undefined) await terminate(this.child, 'SIGKILL', 0);
  }

  async restart(): Promise<void> {
    if (this.removed || !existsSync(this.configFile)) {
      throw new Error(`nats-server ${this.name}: cannot restart, stop() removed ${this.dir}; use kill() or stop({ keepStoreDir: true })`);
    }
    if (this.child !== undefined) await terminate(this.child, 'SIGTERM', STOP_GRACE_MS);
    this.launch();
    await this.waitReady();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private startError(what: string): NatsStartError {
    const tail = this.log.tail(40);
    return new NatsStartError(
      `nats-server ${this.name} (${this.url}) ${what}\n--- server output tail ---\n${tail}`,
      /address already in use/i.test(tail),
    );
  }
}

// Retries with fresh ports when a port was taken between allocation and bind; other failures propagate.
export async function withPortRetry<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof NatsStartError && err.addressInUse) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

export function startNatsServer(o: StartNatsServerOptions = {}): Promise<NatsServerFixture> {
  const name = o.name ?? uniqueName('nats');
  return withPortRetry(async () => {
    const [port, monitorPort] = [await freePort(), await freePort()];
    const server = new LocalNatsServer(name, port, monitorPort, makeTempDir(name), {
      jetstream: o.jetstream ?? true,
      ...(o.config !== undefined ? { extra: o.config } : {}),
    });
    try {
      server.launch();
      await server.waitReady();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  });
}
