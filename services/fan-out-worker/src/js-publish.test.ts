// Unit tests for the PubAck parser: acks, refusals with their JetStream code, malformed replies.
import { describe, expect, it } from 'vitest';
import { JetStreamPublishError, parsePubAck } from './js-publish.js';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('parsePubAck', () => {
  it('reads a stored and a duplicate ack', () => {
    expect(parsePubAck(json({ stream: 'RT_HIST', seq: 42 }))).toEqual({ stream: 'RT_HIST', seq: 42, duplicate: false });
    expect(parsePubAck(json({ stream: 'RT_HIST', seq: 7, duplicate: true }))).toEqual({ stream: 'RT_HIST', seq: 7, duplicate: true });
  });

  it('turns a refusal into an error carrying the JetStream error code (the fence: 10071)', () => {
    const r = parsePubAck(json({ error: { code: 400, err_code: 10071, description: 'wrong last sequence: 5' } }));
    expect(r).toBeInstanceOf(JetStreamPublishError);
    expect(r).toMatchObject({ errCode: 10071, message: 'wrong last sequence: 5' });
  });

  it('reports no responders (no stream, JetStream down) and malformed replies as errors without a code', () => {
    const none = parsePubAck(new Uint8Array(0), { code: 503, description: 'No Responders' });
    expect(none).toBeInstanceOf(JetStreamPublishError);
    expect((none as JetStreamPublishError).errCode).toBeUndefined();
    expect(parsePubAck(new TextEncoder().encode('not json'))).toBeInstanceOf(JetStreamPublishError);
    expect(parsePubAck(json({ seq: 1 }))).toBeInstanceOf(JetStreamPublishError);
    expect(parsePubAck(json({ stream: 'S' }))).toBeInstanceOf(JetStreamPublishError);
  });
});
