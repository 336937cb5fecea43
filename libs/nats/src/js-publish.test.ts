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

  it('reports malformed replies as errors without a code', () => {
    for (const body of [new TextEncoder().encode('not json'), json(null), json(3), json({ seq: 1 }), json({ stream: 'S' }), json({ stream: '', seq: 1 })]) {
      const r = parsePubAck(body);
      expect(r).toBeInstanceOf(JetStreamPublishError);
      expect((r as JetStreamPublishError).errCode).toBeUndefined();
    }
  });
});
