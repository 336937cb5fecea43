// Preloaded into every Node server the bench starts (Cascade's services through NODE_OPTIONS,
// the uWS, ws and Socket.IO peers through --import); only the idle scenario signals it. On
// SIGWINCH it runs a full garbage collection, so that scenario can read resident memory after
// what a burst of connects left behind as garbage has been collected (what the connections keep).
// SIGWINCH, because SIGUSR1 is Node's inspector and SIGUSR2 the CPU profiler's
// (cpu-prof-preload.mjs); a server without a terminal never gets it otherwise.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
process.on('SIGWINCH', () => {
  gc();
  gc();
});
