/** The Django rules that differ between releases, derived once from FLOWERGATE_DJANGO_VERSION. */
export interface DjangoRules {
  readonly label: string;
  /** 3.x: Signer also accepts HMAC-SHA1, the pre-3.1 session format and the sha1 session hash. */
  readonly legacySha1: boolean;
  /** 4.1+: signatures made with SECRET_KEY_FALLBACKS are valid. */
  readonly signatureFallbacks: boolean;
  /** 4.1.8+: `_auth_user_hash` may match a fallback key. */
  readonly hashFallbacks: boolean;
  /** 3.x: user_can_authenticate lets `is_active = None` through; 4.0+ rejects it. */
  readonly inactiveNoneAllowed: boolean;
}

const SUPPORTED = ['3.2', '4.0', '4.1', '4.2', '5.0', '5.1', '5.2', '6.0', '6.1'];

export function parseDjangoVersion(text: string): DjangoRules | string {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  const series = match ? `${match[1]}.${match[2]}` : '';
  if (!match || !SUPPORTED.includes(series)) {
    return `must be a Django release from 3.2 to 6.1 (${SUPPORTED.join(', ')}), optionally with a patch number like 4.1.7`;
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  // Without a patch number, assume the series' latest release.
  const patch = match[3] === undefined ? Number.POSITIVE_INFINITY : Number(match[3]);
  const atLeast = (a: number, b: number, c = 0) =>
    major > a || (major === a && (minor > b || (minor === b && patch >= c)));
  return {
    label: text.trim(),
    legacySha1: major < 4,
    signatureFallbacks: atLeast(4, 1),
    hashFallbacks: atLeast(4, 1, 8),
    inactiveNoneAllowed: major < 4,
  };
}
