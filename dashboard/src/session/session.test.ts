import { describe, expect, it, vi } from 'vitest';
import { Session, createAuthFetch } from './session';

const ok = (body: unknown = {}) => new Response(JSON.stringify(body), { status: 200 });
const unauthorized = () =>
  new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'expired' } }), { status: 401 });

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Session', () => {
  it('keeps the token in memory only', () => {
    const s = new Session(async () => null);
    s.setTokens({ access_token: 'a1', expires_in: 900 });
    expect(s.accessToken).toBe('a1');
    expect(s.authenticated).toBe(true);
    s.clear();
    expect(s.accessToken).toBeNull();
  });

  it('shares one refresh between concurrent callers', async () => {
    const gate = deferred<{ access_token: string } | null>();
    const refresh = vi.fn(() => gate.promise);
    const s = new Session(refresh);
    const a = s.refresh();
    const b = s.refresh();
    gate.resolve({ access_token: 'new' });
    expect(await a).toBe(true);
    expect(await b).toBe(true);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(s.accessToken).toBe('new');
    // A later refresh is a new request.
    await s.refresh();
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('clears the session when the refresh is refused or fails', async () => {
    const s = new Session(async () => null);
    s.setTokens({ access_token: 'old' });
    expect(await s.refresh()).toBe(false);
    expect(s.authenticated).toBe(false);
    const t = new Session(async () => {
      throw new Error('network');
    });
    t.setTokens({ access_token: 'old' });
    expect(await t.refresh()).toBe(false);
    expect(t.authenticated).toBe(false);
  });

  it('knows when the token is about to expire', () => {
    let now = 1_000_000;
    const s = new Session(async () => null, () => now);
    s.setTokens({ access_token: 'a', expires_in: 900 });
    expect(s.expiring).toBe(false);
    now += 890_000;
    expect(s.expiring).toBe(true);
  });

  it('notifies subscribers', () => {
    const s = new Session(async () => null);
    const listener = vi.fn();
    const off = s.subscribe(listener);
    s.setTokens({ access_token: 'a' });
    s.clear();
    off();
    s.setTokens({ access_token: 'b' });
    expect(listener).toHaveBeenCalledTimes(2);
  });
});

describe('createAuthFetch', () => {
  const url = 'http://app.test/api/v1/customer';

  it('sends the access token as a bearer header', async () => {
    const s = new Session(async () => null);
    s.setTokens({ access_token: 'tok' });
    const seen: (string | null)[] = [];
    const f = createAuthFetch(s, () => {}, async (r) => {
      seen.push(r.headers.get('Authorization'));
      return ok();
    });
    await f(new Request(url));
    expect(seen).toEqual(['Bearer tok']);
  });

  it('on a 401 refreshes once, silently, and retries once with the new token', async () => {
    const s = new Session(async () => ({ access_token: 'fresh', expires_in: 900 }));
    s.setTokens({ access_token: 'stale' });
    const expired = vi.fn();
    const seen: { auth: string | null; body: string }[] = [];
    const f = createAuthFetch(s, expired, async (r) => {
      seen.push({ auth: r.headers.get('Authorization'), body: await r.text() });
      return r.headers.get('Authorization') === 'Bearer fresh' ? ok({ done: true }) : unauthorized();
    });
    const res = await f(new Request(url, { method: 'POST', body: '{"x":1}' }));
    expect(res.status).toBe(200);
    expect(seen).toEqual([
      { auth: 'Bearer stale', body: '{"x":1}' },
      { auth: 'Bearer fresh', body: '{"x":1}' },
    ]);
    expect(expired).not.toHaveBeenCalled();
  });

  it('goes to the login page when the refresh is refused', async () => {
    const s = new Session(async () => null);
    s.setTokens({ access_token: 'stale' });
    const expired = vi.fn();
    const base = vi.fn(async () => unauthorized());
    const f = createAuthFetch(s, expired, base);
    const res = await f(new Request(url));
    expect(res.status).toBe(401);
    expect(base).toHaveBeenCalledTimes(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(s.authenticated).toBe(false);
  });

  it('retries only once: a second 401 ends the session', async () => {
    const refresh = vi.fn(async () => ({ access_token: 'fresh' }));
    const s = new Session(refresh);
    s.setTokens({ access_token: 'stale' });
    const expired = vi.fn();
    const base = vi.fn(async () => unauthorized());
    const f = createAuthFetch(s, expired, base);
    await f(new Request(url));
    expect(base).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(s.authenticated).toBe(false);
  });

  it('never refreshes on the auth endpoints themselves', async () => {
    const refresh = vi.fn(async () => ({ access_token: 'x' }));
    const s = new Session(refresh);
    const expired = vi.fn();
    const f = createAuthFetch(s, expired, async () => unauthorized());
    const res = await f(new Request('http://app.test/api/v1/auth/login', { method: 'POST', body: '{}' }));
    expect(res.status).toBe(401);
    expect(refresh).not.toHaveBeenCalled();
    expect(expired).not.toHaveBeenCalled();
  });

  it('concurrent 401s share one refresh', async () => {
    const gate = deferred<{ access_token: string }>();
    const refresh = vi.fn(() => gate.promise);
    const s = new Session(refresh);
    s.setTokens({ access_token: 'stale' });
    const f = createAuthFetch(s, () => {}, async (r) =>
      r.headers.get('Authorization') === 'Bearer fresh' ? ok() : unauthorized(),
    );
    const calls = [f(new Request(url)), f(new Request(url)), f(new Request(url))];
    await new Promise((r) => setTimeout(r, 0));
    gate.resolve({ access_token: 'fresh' });
    const results = await Promise.all(calls);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('refreshes before a call when the token is known to be expiring', async () => {
    let now = 0;
    const refresh = vi.fn(async () => ({ access_token: 'fresh', expires_in: 900 }));
    const s = new Session(refresh, () => now);
    s.setTokens({ access_token: 'old', expires_in: 900 });
    now = 899_000;
    const seen: (string | null)[] = [];
    const f = createAuthFetch(s, () => {}, async (r) => {
      seen.push(r.headers.get('Authorization'));
      return ok();
    });
    await f(new Request(url));
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['Bearer fresh']);
  });
});
