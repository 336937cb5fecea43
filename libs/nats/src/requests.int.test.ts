// The Requester against a real nats-server: replies reach the request they answer (also when
// many are in flight and answered out of order), a subject nobody serves fails at once, an
// unanswered request times out, and closing fails what is still waiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/nats-core';
import { startNatsServer, uniqueName, type NatsServerFixture } from '@cascade/testing';
import { NoRespondersError, RequestTimeoutError, Requester } from './requests.js';

let nats: NatsServerFixture;
let nc: NatsConnection;
let server: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  server = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.close();
  await nats?.stop();
});

const text = (s: string) => new TextEncoder().encode(s);
const read = (d: Uint8Array) => new TextDecoder().decode(d);

describe('Requester', () => {
  it('matches each reply to its request, answered out of order, with headers passed through', async () => {
    const subject = uniqueName('echo');
    const held: Array<() => void> = [];
    const sub = server.subscribe(subject, {
      callback: (_err, m) => {
        const tag = m.headers?.get('X-Tag') ?? '';
        // Answer in reverse order: the first request gets the last reply.
        held.push(() => m.respond(text(`${read(m.data)}:${tag}`)));
        if (held.length === 50) for (const answer of held.reverse()) answer();
      },
    });
    await server.flush();
    const r = new Requester(nc, 5000);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const h = headers();
        h.set('X-Tag', `t${i}`);
        return r.request(subject, text(`q${i}`), h);
      }),
    );
    expect(replies.map((m) => read(m.data))).toEqual(Array.from({ length: 50 }, (_, i) => `q${i}:t${i}`));
    expect(r.inFlight).toBe(0);
    r.close();
    sub.unsubscribe();
  });

  it('fails at once with NoRespondersError when nobody serves the subject', async () => {
    // With a 30 s timeout the test would time out first, were the failure not the server's own answer.
    const r = new Requester(nc, 30_000);
    await expect(r.request(uniqueName('nobody'), text('x'))).rejects.toBeInstanceOf(NoRespondersError);
    r.close();
  });

  it('times out a request that is never answered, and ignores a reply that comes later', async () => {
    const subject = uniqueName('silent');
    let late: (() => void) | undefined;
    const sub = server.subscribe(subject, {
      callback: (_e, m) => {
        late = () => void m.respond(text('late'));
      },
    });
    await server.flush();
    const r = new Requester(nc, 300);
    await expect(r.request(subject, text('x'))).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(r.inFlight).toBe(0);
    late?.();
    await server.flush();
    await nc.flush();
    // The requester still works after a timed-out request.
    const sub2 = server.subscribe(`${subject}.ok`, {
      callback: (_e, m) => {
        m.respond(text('ok'));
      },
    });
    await server.flush();
    expect(read((await r.request(`${subject}.ok`, text('y'))).data)).toBe('ok');
    r.close();
    sub.unsubscribe();
    sub2.unsubscribe();
  });

  it('fails the requests still waiting when closed, and every later one', async () => {
    const subject = uniqueName('held');
    const sub = server.subscribe(subject, { callback: () => undefined });
    await server.flush();
    const r = new Requester(nc, 30_000);
    const waiting = r.request(subject, text('x'));
    await nc.flush();
    r.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await expect(r.request(subject, text('y'))).rejects.toThrow(/closed/);
    sub.unsubscribe();
  });
});
