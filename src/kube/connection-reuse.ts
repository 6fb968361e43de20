import type { RequestContext } from '@kubernetes/client-node';

export type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

export interface ConnectionReuse {
  /** Puts the shared dispatcher on this request; returns the one it will use (undefined: fetch's global one). */
  apply(context: RequestContext): Dispatcher | undefined;
  /** A request on this dispatcher timed out: drop the whole pool, see below. */
  discard(dispatcher: Dispatcher): void;
  close(): Promise<void>;
}

/**
 * client-node 2.0.1 builds a new undici Agent for every request that has TLS options (any cluster CA):
 * one TLS handshake per review, and each idle keep-alive socket lingers in its orphaned Agent until
 * the server's keep-alive timeout. We keep the library's own dispatcher (so its TLS settings stay
 * the library's) and reuse it for `maxAgeMs`; then the next request's fresh one takes over, so a
 * rotated CA or client certificate file is picked up, and the old one closes once its calls are done
 * (or is destroyed after `graceMs`).
 *
 * Aborting a fetch does not stop undici's connection attempt: a TLS handshake that hangs keeps the
 * pool busy, and undici retries it (10 s each) for every aborted request still queued, so later
 * reviews would wait behind it and close() would never return. A timed-out request therefore
 * destroys its pool, and the next review starts a fresh one.
 */
export function createConnectionReuse(options: {
  maxAgeMs: number;
  graceMs: number;
  now: () => number;
}): ConnectionReuse {
  let current: { dispatcher: Dispatcher; since: number } | null = null;

  const retire = (dispatcher: Dispatcher): void => {
    const timer = setTimeout(() => destroy(dispatcher), options.graceMs);
    timer.unref();
    dispatcher.close().then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  };

  return {
    apply(context) {
      const fresh = context.getDispatcher();
      // No TLS options: fetch uses its global dispatcher, which already pools connections.
      if (!fresh) return undefined;
      const now = options.now();
      if (current && now - current.since < options.maxAgeMs) {
        context.setDispatcher(current.dispatcher);
        return current.dispatcher;
      }
      if (current) retire(current.dispatcher);
      current = { dispatcher: fresh, since: now };
      return fresh;
    },
    discard(dispatcher) {
      if (current?.dispatcher === dispatcher) current = null;
      destroy(dispatcher);
    },
    async close() {
      const last = current?.dispatcher;
      current = null;
      // destroy, not close: close() waits for a hanging connection attempt forever.
      if (last) await last.destroy().catch(() => {});
    },
  };
}

function destroy(dispatcher: Dispatcher): void {
  dispatcher.destroy().catch(() => {});
}
