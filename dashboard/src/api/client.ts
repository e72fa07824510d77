// The typed API client: openapi-fetch over the paths generated from the served OpenAPI
// document (schema.d.ts), with the session's token, one silent refresh on a 401, and errors
// thrown as ApiError.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import { ApiError } from './errors';
import { Session, createAuthFetch, type Tokens } from '../session/session';

export type Schemas = components['schemas'];
export type Customer = Schemas['Customer'];
export type CustomerSettings = Schemas['CustomerSettings'];
export type SettingsPatch = Schemas['SettingsPatch'];
export type Image = Schemas['Image'];
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyWithSecret = Schemas['ApiKeyWithSecret'];
export type UsageBucket = Schemas['UsageBucket'];
export type Quota = Schemas['Quota'];
export type Preset = Schemas['Preset'];
export type UploadUrl = Schemas['UploadUrl'];
export type Plan =
  paths['/api/v1/billing/plans']['get']['responses'][200]['content']['application/json']['items'][number];

/** The refresh through the HttpOnly cookie: an empty JSON body makes the server use it. */
async function refreshWithCookie(): Promise<Tokens | null> {
  const res = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    credentials: 'same-origin',
  });
  if (res.status === 401) return null;
  if (!res.ok) throw ApiError.from(res.status, await res.json().catch(() => null));
  return (await res.json()) as Tokens;
}

export const session = new Session(refreshWithCookie);

let expiredHandler: () => void = () => {};
/** What happens when the session cannot be renewed (the app navigates to the login page). */
export function onSessionExpired(handler: () => void): void {
  expiredHandler = handler;
}

export const authFetch = createAuthFetch(session, () => expiredHandler());

export const api = createClient<paths>({
  baseUrl: '',
  fetch: async (request: Request) => {
    try {
      return await authFetch(request);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw ApiError.network();
    }
  },
});

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call; an ApiError otherwise. */
export async function call<T>(promise: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await promise;
  if (!response.ok) {
    throw ApiError.from(response.status, error, response.headers.get('Retry-After'));
  }
  return data as T;
}

/** An image path in a URL: each segment percent-encoded, the slashes kept. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
