/** Stable codes for real failures. Expected outcomes (no cookie, expired…) are values, never errors. */
export type FlowergateErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_FILE_UNREADABLE'
  | 'STORE_UNAVAILABLE'
  | 'STORE_TIMEOUT'
  | 'KUBE_UNAVAILABLE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INTERNAL';

export class FlowergateError extends Error {
  readonly code: FlowergateErrorCode;
  /** HTTP status a request that meets this failure answers with. Never 2xx: we fail closed. */
  readonly status: number;

  constructor(
    code: FlowergateErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'FlowergateError';
    this.code = code;
    this.status = options.status ?? 503;
  }
}

export function isFlowergateError(error: unknown): error is FlowergateError {
  return error instanceof FlowergateError;
}
