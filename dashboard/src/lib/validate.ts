// Inline form validation: what the API would refuse, said before asking it. The bounds come from
// the API's OpenAPI document (src/api/limits.ts, generated).
import { LIMITS } from '../api/limits';

export const MIN_PASSWORD = LIMITS.passwordMinLength;

export function validateEmail(email: string): string | undefined {
  if (!email.trim()) return 'Enter your email address.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return 'Enter a valid email address, like you@example.com.';
  return undefined;
}

export function validatePassword(password: string): string | undefined {
  if (!password) return 'Choose a password.';
  if (password.length < MIN_PASSWORD) return `At least ${MIN_PASSWORD} characters (${password.length} so far).`;
  return undefined;
}

/** A host name for allowed or custom domains (`*.example.com` only where wildcards are allowed). */
export function validateHost(value: string, wildcard: boolean): string | undefined {
  const v = value.trim().toLowerCase().replace(/\.$/, '');
  if (!v) return 'Enter a host name.';
  if (/^[a-z]+:\/\//.test(v) || v.includes('/')) return 'Enter the host name only, without https:// or a path.';
  if (v.includes(':')) return 'Enter the host name without a port.';
  // "*." loses its dot above: a wildcard with nothing after it.
  if (wildcard && (v === '*' || v === '*.')) return 'Add the domain after "*.", like *.example.com.';
  const host = wildcard && v.startsWith('*.') ? v.slice(2) : v;
  if (host.includes('*')) return wildcard ? 'A wildcard is only allowed as a leading "*.".' : 'Wildcards are not allowed here.';
  const labels = host.split('.');
  if (wildcard && v.startsWith('*.') && labels.length < 2) return 'A wildcard needs at least two labels after it, like *.example.com.';
  if (!labels.every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) return 'Not a valid host name.';
  // A browser's Origin or Referer never names a bare word other than localhost.
  if (labels.length < 2 && host !== 'localhost') return `Enter the full domain, like ${host}.com.`;
  return undefined;
}

/** Image paths as the API accepts them (api.md: no "..", leading "/", backslash, control characters). */
export function validateImagePath(path: string): string | undefined {
  if (!path) return 'Enter a path.';
  if (path.startsWith('/')) return 'Paths do not start with "/".';
  if (path.includes('\\')) return 'Paths cannot contain a backslash.';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'Paths cannot contain control characters.';
  if (path.split('/').some((s) => s === '..' || s === '.')) return 'Paths cannot contain "." or ".." segments.';
  if (new TextEncoder().encode(path).length > LIMITS.imagePathMaxBytes) return `Paths are at most ${LIMITS.imagePathMaxBytes} bytes.`;
  return undefined;
}
