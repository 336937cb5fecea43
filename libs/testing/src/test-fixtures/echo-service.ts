// Stand-in service for processes.int.test.ts: reports its env and args, then idles until SIGTERM.
const greeting: string = process.env.GREETING ?? 'no greeting';
console.log(`echo-service starting with args ${JSON.stringify(process.argv.slice(2))}`);
console.error(`greeting=${greeting}`);
const timer = setInterval(() => console.log('tick'), 200);
setTimeout(() => console.log('echo-service ready'), 100);
process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log('echo-service shutting down');
  process.exitCode = 0;
});
