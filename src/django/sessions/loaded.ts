import type { SessionData } from '../session-codec.ts';

/** What an engine's `load()` gives: the session dict, or why there is none. */
export type LoadedSession =
  | { readonly ok: true; readonly data: SessionData }
  | { readonly ok: false; readonly reason: 'no_session' | 'expired' | 'bad_signature' | 'bad_payload' };

export type SessionLoader = (sessionKey: string, at: number) => Promise<LoadedSession>;
