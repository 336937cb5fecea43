// Stand-in service for processes.int.test.ts that fails during startup.
console.log('crash-service starting');
console.error('crash-service: boom, cannot bind');
process.exit(3);
