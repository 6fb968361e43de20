// CPU contention of our own making for `npm run test:stress`: one busy worker thread per core, spinning until
// stop() or its own deadline, whichever comes first. Threads, not processes: they cannot outlive this process,
// whatever kills it.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface CpuLoad {
  readonly threads: number;
  /** Ends every thread; resolves once they have exited. */
  stop(): Promise<void>;
}

// Spins in slices of 50 ms, checking the stop flag between them, until the deadline.
const SPIN = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.stop);
let x = 0;
while (Atomics.load(flag, 0) === 0 && Date.now() < workerData.deadline) {
  const slice = Date.now() + 50;
  while (Date.now() < slice) x = (x * 31 + 7) % 1000003;
}
`;

export function startCpuLoad(options: { maxMs: number; threads?: number }): CpuLoad {
  const threads = options.threads ?? availableParallelism();
  const stop = new SharedArrayBuffer(4);
  const deadline = Date.now() + options.maxMs;
  const workers = Array.from(
    { length: threads },
    () => new Worker(SPIN, { eval: true, workerData: { stop, deadline } }),
  );
  const exited = workers.map(
    (worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())),
  );
  return {
    threads,
    async stop() {
      Atomics.store(new Int32Array(stop), 0, 1);
      await Promise.all(exited);
    },
  };
}
