// Unit tests of the demo page's DOM-free logic (web/*.ts): ticker statistics, the connection
// banner, the member list and typing line, and the URL options.
import { describe, expect, it } from 'vitest';
import { Members, Typing, typingText } from './web/members.js';
import { parseParams } from './web/params.js';
import { LatencyWindow, RateMeter, sparklinePoints } from './web/stats.js';
import { ConnectionStatus } from './web/status.js';

describe('LatencyWindow', () => {
  it('keeps the last N samples and gives nearest-rank percentiles', () => {
    const w = new LatencyWindow(100);
    expect(w.percentile(50)).toBeUndefined();
    for (let i = 1; i <= 150; i++) w.add(i);
    expect(w.count).toBe(100);
    expect(w.values()[0]).toBe(51);
    expect(w.percentile(50)).toBe(100);
    expect(w.percentile(99)).toBe(149);
    expect(w.percentile(100)).toBe(150);
    w.add(Number.NaN);
    expect(w.count).toBe(100);
  });
});

describe('RateMeter', () => {
  it('reports events per second over its window', () => {
    const r = new RateMeter(2_000);
    for (let t = 0; t < 2_000; t += 100) r.add(10_000 + t);
    expect(r.perSecond(11_999)).toBe(10);
    expect(r.perSecond(13_000)).toBe(4.5);
    expect(r.perSecond(20_000)).toBe(0);
  });
});

describe('sparklinePoints', () => {
  it('scales to the box, the largest value at the top', () => {
    expect(sparklinePoints([], 100, 10)).toBe('');
    expect(sparklinePoints([0, 5, 10], 100, 10)).toBe('0.0,10.0 50.0,5.0 100.0,0.0');
  });
});

describe('ConnectionStatus', () => {
  const url = 'ws://127.0.0.1:8080/';

  it('goes connecting, connected, reconnecting with a countdown, then caught up with the recovered count', () => {
    const s = new ConnectionStatus('websocket', url);
    s.connecting();
    expect(s.view(0)).toEqual({ kind: 'connecting', text: `Connecting via WebSocket to ${url} …` });
    s.connected(1_000);
    expect(s.view(1_000)).toEqual({ kind: 'connected', text: `Connected via WebSocket to ${url}` });
    // Live messages on the first connection are not "recovered".
    expect(s.delivered('chat:lobby', 500)).toBe(false);

    s.disconnected(2_000, 'connection lost', 2_500);
    expect(s.view(2_000)).toEqual({ kind: 'reconnecting', text: 'Disconnected (connection lost), reconnecting in 3 s' });
    expect(s.view(4_600).text).toBe('Disconnected (connection lost), reconnecting now …');

    s.connected(10_000);
    expect(s.delivered('chat:lobby', 3_000)).toBe(true);
    expect(s.delivered('demo:ticker', 4_000)).toBe(true);
    expect(s.delivered('demo:ticker', 5_000)).toBe(true);
    expect(s.delivered('demo:ticker', 10_050)).toBe(false);
    expect(s.view(10_100)).toEqual({
      kind: 'caught-up',
      text: `Connected via WebSocket to ${url}, caught up (3 missed messages recovered: chat:lobby: 1, demo:ticker: 2)`,
    });
    expect(s.recovered()).toEqual({ 'chat:lobby': 1, 'demo:ticker': 2 });
    expect(s.recoveredTotal).toBe(3);
  });

  it('says when history was lost, until the next connection', () => {
    const s = new ConnectionStatus('sse', 'http://127.0.0.1:8080/');
    s.connected(0);
    s.disconnected(1, 'connection lost');
    expect(s.view(2).text).toBe('Disconnected (connection lost), reconnecting …');
    s.connected(3);
    s.historyLost({ channel: 'chat:lobby', reason: 'resume-refused' });
    s.historyLost({ channel: 'demo:ticker', reason: 'gap', missing: { from: 5, to: 9 } });
    const v = s.view(4);
    expect(v.kind).toBe('history-lost');
    expect(v.text).toContain('via SSE');
    expect(v.text).toContain('chat:lobby: resume-refused; demo:ticker (seq 5–9): gap');
    s.connected(10);
    expect(s.view(11).kind).toBe('caught-up');
  });

  it('stays failed or closed', () => {
    const s = new ConnectionStatus('websocket', url);
    s.failed('Unauthorized');
    s.disconnected(0, 'x', 10);
    expect(s.view(0)).toEqual({ kind: 'failed', text: 'Connection failed for good: Unauthorized. Reload the page to try again.' });
    s.closed();
    expect(s.view(0).kind).toBe('closed');
  });
});

describe('Members', () => {
  it('lists me first, adds joins, removes leaves', () => {
    const m = new Members('carol');
    expect(m.list()).toEqual(['carol']);
    m.seen(['bob', 'alice', 'carol']);
    expect(m.list()).toEqual(['carol', 'alice', 'bob']);
    m.left(['bob', 'carol']);
    expect(m.list()).toEqual(['carol', 'alice']);
  });

  it('takes who is there from the answer, then replays the changes that arrived while asking', () => {
    const m = new Members('me');
    m.seen(['gone']);
    m.asked();
    m.seen(['dan']);
    m.left(['alice']);
    m.answered(['alice', 'bob', 'me']);
    expect(m.list()).toEqual(['me', 'bob', 'dan']);
    m.seen(['erin']);
    expect(m.list()).toEqual(['me', 'bob', 'dan', 'erin']);
    m.asked();
    m.unanswered();
    expect(m.list()).toEqual(['me', 'bob', 'dan', 'erin']);
  });
});

describe('Typing', () => {
  it('shows a user for a while after their last typing frame, or until their message', () => {
    const t = new Typing(3_000);
    t.typed('bob', 0);
    t.typed('alice', 1_000);
    expect(t.list(2_000)).toEqual(['alice', 'bob']);
    expect(t.list(3_000)).toEqual(['alice']);
    t.stopped('alice');
    expect(t.list(3_001)).toEqual([]);
  });

  it('words the line', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['bob'])).toBe('bob is typing …');
    expect(typingText(['a', 'b'])).toBe('a and b are typing …');
    expect(typingText(['a', 'b', 'c'])).toBe('3 people are typing …');
  });
});

describe('parseParams', () => {
  it('reads user, transport, view and the room from the hash', () => {
    expect(parseParams('?user=alice&transport=sse&view=ticker', '#room=ops')).toEqual({
      user: 'alice',
      room: 'ops',
      roomChannel: 'chat:ops',
      transport: 'sse',
      view: 'ticker',
    });
    expect(parseParams('', '#team-1').roomChannel).toBe('chat:team-1');
  });

  it('falls back to the defaults on bad or missing values', () => {
    expect(parseParams('?user=a%20b&transport=carrier-pigeon', '#room=no:colons')).toEqual({
      user: undefined,
      room: 'lobby',
      roomChannel: 'chat:lobby',
      transport: 'websocket',
      view: 'chat',
    });
  });
});
