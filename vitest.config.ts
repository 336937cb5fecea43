import { defineConfig } from 'vitest/config';

// One runner for unit tests (*.test.ts) and integration tests (*.int.test.ts, real nats-server).
// Integration tests spawn processes and servers: forks keep them isolated, and two workers
// match the two cores CI has.
export default defineConfig({
  test: {
    include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'infra/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './infra/test-summary-reporter.ts'],
  },
});
