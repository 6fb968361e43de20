/** Longer than any real token (a projected service-account JWT is about 1 KiB), short enough to bound hashing. */
export const MAX_BEARER_TOKEN_LENGTH = 16 * 1024;

// RFC 6750 `Bearer 1*SP token`, scheme case-insensitive; the token is visible ASCII without spaces.
const BEARER = /^bearer +([\x21-\x7e]+)$/i;

/**
 * The token of an `Authorization: Bearer …` header, or null: absent, another scheme, empty, too long,
 * or with whitespace or control characters inside (which the API server would not accept either).
 */
export function bearerToken(authorizationHeader: string | undefined): string | null {
  if (authorizationHeader === undefined) return null;
  const header = authorizationHeader.trim();
  // A cheap bound before the regular expression runs.
  if (header.length > MAX_BEARER_TOKEN_LENGTH + 64) return null;
  const match = BEARER.exec(header);
  const token = match?.[1];
  if (!token || token.length > MAX_BEARER_TOKEN_LENGTH) return null;
  return token;
}
