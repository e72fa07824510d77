// An editable list of host names (allowed domains, custom domains).
import { useId, useState, type KeyboardEvent } from 'react';
import { validateHost } from '../lib/validate';
import { XIcon } from './Icons';

export function HostList({ label, hint, values, onChange, wildcard, disabled, max, error, placeholder }: {
  label: string;
  hint?: string;
  values: string[];
  onChange: (values: string[]) => void;
  wildcard: boolean;
  disabled?: boolean;
  max?: number;
  error?: string;
  placeholder?: string;
}) {
  const id = useId();
  const [draft, setDraft] = useState('');
  const [draftError, setDraftError] = useState<string>();
  const full = max !== undefined && values.length >= max;

  const add = () => {
    const v = draft.trim().toLowerCase().replace(/\.$/, '');
    const problem = validateHost(v, wildcard) ?? (values.includes(v) ? 'Already in the list.' : undefined);
    if (problem) {
      setDraftError(problem);
      return;
    }
    onChange([...values, v]);
    setDraft('');
    setDraftError(undefined);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add();
    }
  };
  const shownError = draftError ?? error;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && <span id={`${id}-hint`} className="hint">{hint}</span>}
      <div className="copy-field">
        <input
          id={id}
          type="text"
          inputMode="url"
          autoCapitalize="none"
          spellCheck={false}
          value={draft}
          placeholder={placeholder}
          disabled={disabled || full}
          aria-invalid={shownError ? true : undefined}
          aria-describedby={[hint ? `${id}-hint` : '', shownError ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined}
          onChange={(e) => {
            setDraft(e.target.value);
            setDraftError(undefined);
          }}
          onKeyDown={onKey}
        />
        <button type="button" className="btn" onClick={add} disabled={disabled || full || !draft.trim()}>
          Add
        </button>
      </div>
      {shownError && <span id={`${id}-error`} className="field-error" role="alert">{shownError}</span>}
      {full && !disabled && <span className="hint">Your plan allows {max} — remove one to add another.</span>}
      {values.length > 0 ? (
        <ul className="tag-list" aria-label={label}>
          {values.map((v) => (
            <li key={v} className="tag">
              {v}
              <button type="button" onClick={() => onChange(values.filter((x) => x !== v))} disabled={disabled} aria-label={`Remove ${v}`}>
                <XIcon />
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <span className="hint">None yet.</span>
      )}
    </div>
  );
}
