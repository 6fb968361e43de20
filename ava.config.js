// Node 24 strips TypeScript types natively, so ava loads test files as plain ESM.
export default {
  files: ['test/**/*.test.ts'],
  extensions: ['ts'],
  timeout: '120s',
  concurrency: 4,
  workerThreads: false,
};
