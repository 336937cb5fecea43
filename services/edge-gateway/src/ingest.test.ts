// How a failed durable publish is reported to the publisher.
import { describe, expect, it } from 'vitest';
import { JetStreamPublishError, RequestTimeoutError } from '@cascade/nats';
import { ErrorCode } from '@cascade/protocol';
import { publishFailure } from './ingest.js';

describe('publishFailure', () => {
  it('reports a timeout (outcome unknown) only for a request that timed out', () => {
    expect(publishFailure(new RequestTimeoutError('rt.in.3.a', 4000)).code).toBe(ErrorCode.Timeout);
  });

  it('reports anything else as unavailable, whatever the channel is called', () => {
    // The failure names the subject: a channel called "timeouts" must not read as a timeout.
    expect(publishFailure(new JetStreamPublishError('no stream stored rt.in.3.game-timeouts: no responders', undefined)).code).toBe(ErrorCode.Unavailable);
    expect(publishFailure(new Error('connection closed')).code).toBe(ErrorCode.Unavailable);
  });
});
