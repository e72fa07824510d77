// The dashboard session (dashboard.md "Session"): the access token lives in this object only,
// never in localStorage, sessionStorage, a cookie we can read, or a URL. The refresh token is the
// server's HttpOnly cookie (Path=/api/v1/auth), which `POST /api/v1/auth/refresh` with an empty
// JSON body uses.

export interface Tokens {
  access_token: string;
  /** Seconds the access token is valid. */
  expires_in?: number;
}

/** Asks the server for a new access token; null when the refresh was refused (logged out). */
export type RefreshFn = () => Promise<Tokens | null>;

type Listener = () => void;

/** Refresh this many milliseconds before the access token expires, rather than after a 401. */
const EXPIRY_MARGIN_MS = 15_000;

export class Session {
  private token: string | null = null;
  private expiresAt = 0;
  private inflight: Promise<boolean> | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly doRefresh: RefreshFn,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get accessToken(): string | null {
    return this.token;
  }

  get authenticated(): boolean {
    return this.token !== null;
  }

  /** True when the token is known to expire within the margin: refresh before using it. */
  get expiring(): boolean {
    return this.token !== null && this.expiresAt > 0 && this.now() >= this.expiresAt - EXPIRY_MARGIN_MS;
  }

  setTokens(tokens: Tokens): void {
    this.token = tokens.access_token;
    this.expiresAt = tokens.expires_in ? this.now() + tokens.expires_in * 1000 : 0;
    this.emit();
  }

  clear(): void {
    const had = this.token !== null;
    this.token = null;
    this.expiresAt = 0;
    if (had) this.emit();
  }

  /**
   * One refresh at a time: concurrent callers share it. The server rotates refresh tokens and
   * revokes the whole family when one is presented twice, so two refreshes racing with the same
   * cookie would log the user out.
   */
  refresh(): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const tokens = await this.doRefresh();
          if (tokens) {
            this.setTokens(tokens);
            return true;
          }
          this.clear();
          return false;
        } catch {
          this.clear();
          return false;
        } finally {
          this.inflight = null;
        }
      })();
    }
    return this.inflight;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/** Paths whose 401 means "wrong credentials", not "expired token": never refreshed and retried. */
const NO_RETRY = ['/api/v1/auth/login', '/api/v1/auth/signup', '/api/v1/auth/refresh', '/api/v1/auth/logout'];

function pathOf(url: string): string {
  try {
    return new URL(url, 'http://x').pathname;
  } catch {
    return url;
  }
}

function withToken(request: Request, token: string | null): Request {
  const r = new Request(request);
  if (token) r.headers.set('Authorization', `Bearer ${token}`);
  else r.headers.delete('Authorization');
  return r;
}

/**
 * A fetch that sends the access token and, on a 401, refreshes once (silently, through the
 * cookie) and retries once. When that fails too, `onExpired` is called (the app goes to the
 * login page) and the 401 is returned.
 */
export function createAuthFetch(
  session: Session,
  onExpired: () => void,
  baseFetch: (r: Request) => Promise<Response> = (r) => fetch(r),
): (input: Request) => Promise<Response> {
  return async (input: Request) => {
    const noRetry = NO_RETRY.includes(pathOf(input.url));
    if (noRetry) return baseFetch(input);
    const spare = input.clone();
    if (session.expiring) await session.refresh();
    const used = session.accessToken;
    const first = await baseFetch(withToken(input, used));
    if (first.status !== 401) return first;
    // Another call may have refreshed while this one was in flight: then just retry.
    const ok = session.accessToken !== used && session.accessToken !== null ? true : await session.refresh();
    if (!ok) {
      onExpired();
      return first;
    }
    const second = await baseFetch(withToken(spare, session.accessToken));
    if (second.status === 401) {
      session.clear();
      onExpired();
    }
    return second;
  };
}
