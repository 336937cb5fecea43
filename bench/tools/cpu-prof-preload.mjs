// Preloaded into a service (NODE_OPTIONS="--import <this file>") to profile it like
// `node --cpu-prof`, which Node 20 does not accept in NODE_OPTIONS. The profile is written
// to $BENCH_CPU_PROF_DIR/<name>-<pid>.cpuprofile when the process exits normally (SIGTERM
// makes Cascade's services exit through process.exit, which runs this). With
// BENCH_CPU_PROF_ON_SIGNAL=1 the profiler starts only on SIGUSR2, so start-up (module
// loading, which dominates a short run) stays out of the profile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename, dirname, join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL_US ?? 500) });
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    session.post('Profiler.start');
  };
  if (process.env.BENCH_CPU_PROF_ON_SIGNAL === '1') process.on('SIGUSR2', start);
  else start();
  // The service's name: the directory above src/ of its entry file (services/<name>/src/main.ts).
  const entry = process.argv[1] ?? 'node';
  const name = basename(dirname(dirname(entry))) || 'node';
  process.on('exit', () => {
    if (!started) return;
    // The in-process session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, r) => {
      if (!err && r) writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
