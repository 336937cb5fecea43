import { describe, expect, it } from 'vitest';
import { parsePrometheus, summarize } from './metrics.js';

const TEXT = `# HELP cascade_edge_connections Open WebSocket connections
# TYPE cascade_edge_connections gauge
cascade_edge_connections 3
cascade_edge_connections_opened_total 10
cascade_edge_subscriptions 5
cascade_edge_nats_subscriptions 2
cascade_edge_frames_in_total 40
cascade_edge_frames_out_total 90
cascade_edge_live_frames_total 30
cascade_edge_publishes_total{result="stored"} 7
cascade_edge_publishes_total{result="duplicate"} 1
cascade_edge_publish_seconds_bucket{le="+Inf"} 8
cascade_edge_publish_seconds_sum 0.016
cascade_edge_publish_seconds_count 8
cascade_edge_drops_total{reason="slow_consumer"} 2
cascade_edge_disconnects_total{code="Normal"} 6
cascade_edge_disconnects_total{code="Unknown(1006)"} 1
weird_label{a="x\\"y"} 1
not a sample
`;

describe('metrics', () => {
  it('parses the text format, labels and special values included', () => {
    const s = parsePrometheus(TEXT);
    expect(s.find((x) => x.name === 'cascade_edge_publish_seconds_bucket')).toEqual({ name: 'cascade_edge_publish_seconds_bucket', labels: { le: '+Inf' }, value: 8 });
    expect(s.find((x) => x.name === 'weird_label')!.labels).toEqual({ a: 'x"y' });
    expect(s.some((x) => x.name === 'not')).toBe(false);
  });

  it('summarises the counters stats shows', () => {
    expect(summarize(parsePrometheus(TEXT))).toEqual({
      connections: 3,
      connectionsOpened: 10,
      subscriptions: 5,
      natsSubscriptions: 2,
      framesIn: 40,
      framesOut: 90,
      liveFrames: 30,
      publishes: { stored: 7, duplicate: 1 },
      drops: { slow_consumer: 2 },
      disconnects: { Normal: 6, 'Unknown(1006)': 1 },
      sendBufferBytes: 0,
      publishMeanMs: 2,
    });
    expect(summarize([]).publishMeanMs).toBeUndefined();
  });
});
