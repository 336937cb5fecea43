// Preloaded into every Node server the idle scenario measures (Cascade's services through
// NODE_OPTIONS, the uWS, ws and Socket.IO peers through --import): on SIGWINCH it runs a full
// garbage collection, so the scenario can read resident memory both as it is and after what
// a burst of connects left behind as garbage has been collected (what the connections keep).
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
