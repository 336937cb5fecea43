// CoreSubscriptions against a real nats-server: the small subscription records get their
// subject's messages once and in order, leave the server's subscription list when removed,
// are resent by nats.js after the server restarts, hear a permissions refusal, and let the
// connection drain and close.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Msg } from '@nats-io/nats-core';
import { startNatsServer, uniqueName, type NatsServerFixture } from '@cascade/testing';
import { CoreSubscription, CoreSubscriptions, type SubscriptionTable } from './core-subscriptions.js';

class Recording extends CoreSubscription {
  readonly got: string[] = [];
  errors: Error[] = [];
  closed = 0;

  constructor(
    protected readonly owner: SubscriptionTable,
    private readonly name: string,
  ) {
    super();
  }

  get subject(): string {
    return this.name;
  }

  callback(err: Error | null, msg: Msg): void {
    if (err) this.errors.push(err);
    else this.got.push(new TextDecoder().decode(msg.data));
  }

  override close(): void {
    this.closed++;
  }
}

let nats: NatsServerFixture;
let pub: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer({
    config: `authorization {\n  users = [\n    { user: "edge", password: "pw", permissions: { subscribe: { deny: ["forbidden.>"] } } }\n  ]\n}\n`,
  });
  pub = await connect({ servers: nats.url, user: 'edge', pass: 'pw' });
});

afterAll(async () => {
  await pub?.close();
  await nats?.stop();
});

const send = async (subject: string, ...texts: string[]) => {
  for (const t of texts) pub.publish(subject, t);
  await pub.flush();
};

async function serverSubjects(): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1&limit=1000`);
  const body = (await res.json()) as { connections: Array<{ subscriptions_list?: string[] }> };
  return body.connections.flatMap((c) => c.subscriptions_list ?? []);
}

describe('CoreSubscriptions', () => {
  it('delivers each message of the subject once, in order, and stops after remove', async () => {
    const nc = await connect({ servers: nats.url, user: 'edge', pass: 'pw' });
    const table = new CoreSubscriptions(nc);
    const subject = uniqueName('core.a');
    const other = uniqueName('core.b');
    const a = new Recording(table, subject);
    const b = new Recording(table, other);
    table.add(a);
    table.add(b);
    await table.flush();
    expect(await serverSubjects()).toEqual(expect.arrayContaining([subject, other]));
    await send(subject, '1', '2', '3');
    await send(other, 'x');
    await vi.waitFor(() => expect([a.got, b.got]).toEqual([['1', '2', '3'], ['x']]));
    expect(a.received).toBe(3);
    table.remove(a);
    await table.flush();
    expect(a.closed).toBe(1);
    expect(await serverSubjects()).not.toContain(subject);
    await send(subject, '4');
    await send(other, 'y');
    await vi.waitFor(() => expect(b.got).toEqual(['x', 'y']));
    expect(a.got).toEqual(['1', '2', '3']);
    await nc.close();
    // Closing the connection tells the subscriptions still registered.
    expect(b.closed).toBe(1);
  });

  it('is resubscribed by nats.js after the server restarts', async () => {
    const nc = await connect({ servers: nats.url, user: 'edge', pass: 'pw', reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const table = new CoreSubscriptions(nc);
    const subject = uniqueName('core.restart');
    const s = new Recording(table, subject);
    table.add(s);
    await table.flush();
    await send(subject, 'before');
    await vi.waitFor(() => expect(s.got).toEqual(['before']));
    await nats.restart();
    await vi.waitFor(
      async () => {
        await send(subject, 'after');
        expect(s.got).toContain('after');
      },
      { timeout: 20_000, interval: 200 },
    );
    await nc.close();
  });

  it('hears the server refuse a subscription it may not hold', async () => {
    const nc = await connect({ servers: nats.url, user: 'edge', pass: 'pw' });
    const table = new CoreSubscriptions(nc);
    const s = new Recording(table, 'forbidden.x');
    table.add(s);
    await table.flush().catch(() => undefined);
    await vi.waitFor(() => expect(s.errors.length).toBe(1));
    expect(s.errors[0]!.message).toMatch(/permission/i);
    expect(s.closed).toBe(1);
    await nc.close();
  });

  it('lets the connection drain with small subscriptions registered', async () => {
    const nc = await connect({ servers: nats.url, user: 'edge', pass: 'pw' });
    const table = new CoreSubscriptions(nc);
    const s = new Recording(table, uniqueName('core.drain'));
    table.add(s);
    await table.flush();
    await nc.drain();
    expect(nc.isClosed()).toBe(true);
    expect(s.closed).toBeGreaterThanOrEqual(1);
    expect(() => table.add(new Recording(table, uniqueName('core.late')))).toThrow();
  });
});
