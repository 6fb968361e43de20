// Waiting for a consequence that lands a moment after the event a test awaited (a metric observed when the
// server's side of a connection closes, a log line written after the response): poll for it instead of
// sleeping a fixed time that a busy machine can outlast.
//
//   const count = await eventually(() => countOf(gate), (n) => n === 1);
//   t.is(count, 1);   // the assertion stays in the test, on the last value read

/**
 * Reads `read()` until `done(value)` holds or `timeoutMs` (default 10 s) has passed, and returns the last value
 * either way, so the test's own assertion says what was wrong.
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 10_000, everyMs = 20 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || performance.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
