// A login wave for presence-edges.int.test.ts, in its own process so that the test process
// stays free to time content delivery: opens WAVE_CONNECTIONS anonymous WebSocket connections,
// alternating over the edges in WAVE_URLS (comma-separated), at most WAVE_IN_FLIGHT handshakes
// at a time, each subscribing to one of WAVE_ROOMS channels `wave:<n>`. Prints
// "wave started at <epoch ms>" and "wave connected <count> in <ms> ms", then holds the
// connections until SIGTERM.
import { rawClient, type RawClient } from './raw-ws-client.js';

const urls = (process.env.WAVE_URLS ?? '').split(',').filter(Boolean);
const total = Number(process.env.WAVE_CONNECTIONS ?? 5000);
const rooms = Number(process.env.WAVE_ROOMS ?? 50);
const inFlight = Number(process.env.WAVE_IN_FLIGHT ?? 200);
const clients: RawClient[] = [];

process.on('SIGTERM', () => {
  for (const c of clients) c.ws.terminate();
  process.exit(0);
});

const started = Date.now();
process.stdout.write(`wave started at ${started}\n`);
let next = 0;
const opener = async (): Promise<void> => {
  while (next < total) {
    const i = next++;
    const c = await rawClient(urls[i % urls.length]!);
    clients.push(c);
    const reply = await c.request({ t: 2, id: 1, ch: `wave:${i % rooms}` });
    if (reply.t !== 102) throw new Error(`subscribe refused: ${JSON.stringify(reply)}`);
  }
};
try {
  await Promise.all(Array.from({ length: inFlight }, opener));
  process.stdout.write(`wave connected ${clients.length} in ${Date.now() - started} ms\n`);
} catch (err) {
  process.stdout.write(`wave failed: ${(err as Error).message}\n`);
  for (const c of clients) c.ws.terminate();
  process.exit(1);
}
