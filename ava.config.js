// Node 24 strips TypeScript types natively, so ava loads test files as plain ESM.
export default {
  files: ['test/**/*.test.ts'],
  extensions: ['ts'],
  // Ends a run in which no test finished for this long (a test that needs longer says so with t.timeout);
  // scripts/test.ts also limits the whole step, so even a worker that ignores ava cannot hang CI.
  timeout: '120s',
  concurrency: 4,
  workerThreads: false,
  // Each worker reports its tests' start and end when scripts/test.ts asks (FG_TEST_EVENTS).
  require: ['./test/support/test-events.ts'],
};
