import type { ReactNode } from 'react';
import { CopyField } from './CopyButton';
import { AlertIcon } from './Icons';

/** A secret shown once, with a copy button and a warning. */
export function SecretOnce({ title, secret, onDone, label, id = 'secret-once', children }: {
  title: string;
  secret: string;
  onDone: () => void;
  label: string;
  id?: string;
  /** What to do with the secret next (shown under it). */
  children?: ReactNode;
}) {
  return (
    <div className="secret-box" role="region" aria-label={title}>
      <div className="row" style={{ marginBottom: '0.5rem', color: 'var(--warning)' }}>
        <AlertIcon width={20} height={20} />
        <strong>{title}</strong>
      </div>
      <p style={{ color: '#78350f' }}>
        Copy it now and keep it somewhere safe. <strong>It will not be shown again</strong>: the server keeps only a hash of it.
      </p>
      <CopyField id={id} label={label} value={secret} />
      {children}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onDone}>I have saved it</button>
      </div>
    </div>
  );
}

