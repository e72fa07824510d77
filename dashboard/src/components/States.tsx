// Loading, error and empty states: every request shows one of them instead of a blank screen.
import type { ReactNode } from 'react';
import { errorSentence } from '../api/errors';
import { AlertIcon, RefreshIcon } from './Icons';

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <span className="row" role="status">
      <span className="spinner" aria-hidden="true" />
      <span className="muted">{label}</span>
    </span>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state">
      <Spinner label={label} />
    </div>
  );
}

export function ErrorState({ error, onRetry, title = 'This could not be loaded' }: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
}) {
  return (
    <div className="state" role="alert">
      <AlertIcon />
      <h3>{title}</h3>
      <p>{errorSentence(error)}</p>
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          <RefreshIcon /> Try again
        </button>
      )}
    </div>
  );
}

export function InlineError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert">
      <AlertIcon />
      <div>{errorSentence(error)}</div>
    </div>
  );
}

export function EmptyState({ icon, title, children, action }: {
  icon?: ReactNode;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="state">
      {icon}
      <h3>{title}</h3>
      {children && <div>{children}</div>}
      {action}
    </div>
  );
}

export function Alert({ kind = 'info', children, icon }: {
  kind?: 'info' | 'success' | 'warning' | 'error';
  children: ReactNode;
  icon?: ReactNode;
}) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {icon}
      <div>{children}</div>
    </div>
  );
}
