// Flow control of one SSE response against a fake HTTP layer that takes `capacity` bytes and
// then reports backpressure until the test drains it.
import { describe, expect, it } from 'vitest';
import { SseStream, type SseChunk, type SseOutput } from './sse-stream.js';

class FakeOutput implements SseOutput {
  /** Everything written, in order (what the client reads eventually). */
  written: string[] = [];
  /** Bytes the layer holds unsent. */
  held = 0;
  ended = false;
  closed = false;
  constructor(private readonly capacity: number) {}
  write(chunks: readonly SseChunk[]): boolean {
    if (this.ended || this.closed) throw new Error('write after end');
    for (const c of chunks) {
      const s = typeof c === 'string' ? c : Buffer.from(c).toString();
      this.written.push(s);
      this.held += s.length;
    }
    return this.held <= this.capacity;
  }
  /** The client read everything held. */
  drain(): void {
    this.held = 0;
  }
  end(): void {
    this.ended = true;
  }
  close(): void {
    this.closed = true;
  }
  text(): string {
    return this.written.join('');
  }
}

function setup(capacity: number, max = 100) {
  const out = new FakeOutput(capacity);
  let slow = 0;
  const stream = new SseStream(out, { maxUnsentBytes: max, onSlow: () => slow++ });
  return { out, stream, slow: () => slow };
}

describe('SseStream', () => {
  it('writes straight through while the connection keeps up, chunks of an event together', () => {
    const { out, stream } = setup(1000);
    stream.send('id: e:1\n', Buffer.from('data: 1\n\n'));
    stream.send('data: 2\n\n');
    expect(out.text()).toBe('id: e:1\ndata: 1\n\ndata: 2\n\n');
    expect(stream.unsentBytes).toBe(0);
  });

  it('queues while the connection holds unsent bytes and sends the queue in order when writable', () => {
    const { out, stream } = setup(10);
    stream.send('a'.repeat(20)); // over capacity: now backpressured
    stream.send('b');
    stream.send('c');
    expect(out.text()).toBe('a'.repeat(20));
    expect(stream.unsentBytes).toBe(22);
    out.drain();
    stream.writable();
    expect(out.text()).toBe(`${'a'.repeat(20)}bc`);
    expect(stream.unsentBytes).toBe(0);
    stream.send('d');
    expect(out.text().endsWith('d')).toBe(true);
  });

  it('flushes the layer with a comment when writable finds nothing queued', () => {
    const { out, stream } = setup(5);
    stream.send('abcdefgh');
    out.drain();
    stream.writable();
    expect(out.written.at(-1)).toBe(':\n');
    stream.send('next');
    expect(out.written.at(-1)).toBe('next');
  });

  it('calls the stream slow once past the bound, then finishes it after what is queued', () => {
    const { out, stream, slow } = setup(10, 50);
    stream.send('x'.repeat(20));
    for (let i = 0; i < 5; i++) stream.send('y'.repeat(10));
    expect(slow()).toBe(1);
    stream.finish('event: error\ndata: {}\n\n');
    // Ending hands everything to the layer (it drains it itself), error last.
    expect(out.ended).toBe(true);
    expect(out.text()).toBe(`${'x'.repeat(20)}${'y'.repeat(50)}event: error\ndata: {}\n\n`);
    stream.send('ignored');
    expect(out.text().endsWith('ignored')).toBe(false);
  });

  it('closes the connection only once everything was flushed when asked to (drain)', () => {
    const { out, stream } = setup(10);
    stream.send('x'.repeat(20));
    stream.finish('event: reconnect\n\n', true);
    expect(out.closed).toBe(false);
    out.drain();
    stream.writable();
    expect(out.text().endsWith('event: reconnect\n\n')).toBe(true);
    expect(out.held).toBeGreaterThan(0);
    expect(out.closed).toBe(false);
    out.drain();
    stream.writable();
    expect(out.closed).toBe(true);
    expect(out.ended).toBe(false);
  });

  it('closes at once when nothing is pending', () => {
    const { out, stream } = setup(100);
    stream.finish(undefined, true);
    expect(out.closed).toBe(true);
  });

  it('paces a catch-up: drained() waits until a quarter of the bound is unsent', async () => {
    const { out, stream } = setup(10, 100);
    stream.send('x'.repeat(60));
    let done = false;
    const waiting = stream.drained().then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    out.drain();
    stream.writable();
    await waiting;
    expect(done).toBe(true);
  });

  it('writes nothing after the client went away', async () => {
    const { out, stream } = setup(10);
    stream.send('x'.repeat(20));
    stream.send('queued');
    stream.aborted();
    stream.writable();
    stream.send('more');
    stream.finish('end');
    expect(out.text()).toBe('x'.repeat(20));
    expect(out.ended || out.closed).toBe(false);
    await stream.drained();
  });
});
