import { useSyncExternalStore } from 'react';
import { session } from '../api/client';

let boot: Promise<boolean> | null = null;

/** On start, one refresh through the cookie, so a reload keeps the user logged in. Shared, so
 *  React's development double effects still send one request. */
export function bootstrapSession(): Promise<boolean> {
  boot ??= session.refresh();
  return boot;
}

export function useAuthenticated(): boolean {
  return useSyncExternalStore(
    (cb) => session.subscribe(cb),
    () => session.authenticated,
  );
}
