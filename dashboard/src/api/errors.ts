// Errors from the API ({"error": {"code", "message", "field"?}}) and what the dashboard says.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** From a response status and its parsed (or raw text) body. */
  static from(status: number, body: unknown, retryAfter?: string | null): ApiError {
    const retry = retryAfter ? Number(retryAfter) : undefined;
    if (body && typeof body === 'object' && 'error' in body) {
      const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } }).error;
      if (e && typeof e.code === 'string') {
        return new ApiError(
          status,
          e.code,
          typeof e.message === 'string' ? e.message : e.code,
          typeof e.field === 'string' ? e.field : undefined,
          Number.isFinite(retry) ? retry : undefined,
        );
      }
    }
    return new ApiError(status, `http_${status}`, `The server answered ${status}.`);
  }

  static network(): ApiError {
    return new ApiError(0, 'network_error', 'The server could not be reached.');
  }
}

const FRIENDLY: Record<string, string> = {
  network_error: 'Cannot reach the server. Check your connection and try again.',
  invalid_credentials: 'Wrong email or password.',
  email_taken: 'An account with this email already exists. Log in instead.',
  unauthorized: 'Your session has ended. Please log in again.',
  unsupported_media_type: 'Not an image this service accepts (JPEG, PNG, WebP, AVIF, GIF, HEIC, JPEG XL, SVG or TIFF).',
  payload_too_large: 'Too large for your plan’s maximum original size.',
  storage_quota_exceeded: 'Your storage quota is full: delete images or upgrade your plan.',
  invalid_path: 'This path is not allowed (no "..", leading "/", backslashes or control characters).',
  feature_not_in_plan: 'Your plan does not include this feature.',
  billing_unavailable: 'Billing is temporarily unavailable. Nothing was charged; please try again in a minute.',
  billing_not_configured: 'Billing is not set up on this server.',
  already_on_plan: 'You are already on this plan.',
  busy: 'The server is busy. Try again in a moment.',
  internal_error: 'Something went wrong on the server. Try again; if it persists, contact support.',
  forbidden: 'The upload link expired or was already used. Try the upload again.',
  conflict: 'This conflicts with the current state. Reload and try again.',
  quota_exceeded: 'Your monthly bandwidth quota is used up.',
};

/** A sentence for people: our wording for known codes, then the API's own message. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'too_many_requests' || error.code === 'rate_limited') {
      return error.retryAfter
        ? `Too many attempts. Try again in ${error.retryAfter} s.`
        : 'Too many attempts. Try again shortly.';
    }
    const friendly = FRIENDLY[error.code];
    if (friendly && error.message && !sameSentence(friendly, error.message) && error.status !== 0 && error.code !== 'internal_error') {
      return `${friendly} (${error.message})`;
    }
    return friendly ?? error.message ?? `Request failed (${error.status}).`;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/**
 * The one sentence the dashboard shows for an error: our wording for a known code, else the
 * API's message. The code and the API's own message (describeError) go to the console and to
 * details toggles, not next to it.
 */
export function errorSentence(error: unknown): string {
  const friendly = error instanceof ApiError ? FRIENDLY[error.code] : undefined;
  if (error instanceof ApiError && friendly) {
    if (error.status !== 0) console.info(`${error.code}: ${error.message}`);
    return friendly;
  }
  return describeError(error);
}

function sameSentence(a: string, b: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return norm(a) === norm(b);
}

/** The upload error shown next to a file: one sentence, and the API's code (415, 413, 402...)
 *  for its details toggle. */
export function describeUploadError(error: unknown): { message: string; code?: string } {
  if (error instanceof ApiError) {
    return { message: errorSentence(error), code: error.code };
  }
  return { message: errorSentence(error) };
}

/** Field errors (422 naming `error.field`) for forms: { field: message }. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (error instanceof ApiError && error.field) {
    // The API's message often starts with "field: "; drop it beside the field itself.
    const prefix = `${error.field}: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return { [error.field]: message.charAt(0).toUpperCase() + message.slice(1) };
  }
  return {};
}
