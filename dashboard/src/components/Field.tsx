// A labelled input with its hint and error wired through aria-describedby.
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

interface Common {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  extra?: ReactNode;
}

function describedBy(hintId: string, errorId: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  return ids || undefined;
}

export function TextField({ label, hint, error, extra, id, ...input }: Common & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className="field">
      <label htmlFor={fid}>{label} {extra}</label>
      <input
        id={fid}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${fid}-hint`, `${fid}-error`, hint, error)}
        {...input}
      />
      {hint && <span id={`${fid}-hint`} className="hint">{hint}</span>}
      {error && <span id={`${fid}-error`} className="field-error">{error}</span>}
    </div>
  );
}

export function SelectField({ label, hint, error, extra, id, children, ...select }: Common & SelectHTMLAttributes<HTMLSelectElement>) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className="field">
      <label htmlFor={fid}>{label} {extra}</label>
      <select
        id={fid}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${fid}-hint`, `${fid}-error`, hint, error)}
        {...select}
      >
        {children}
      </select>
      {hint && <span id={`${fid}-hint`} className="hint">{hint}</span>}
      {error && <span id={`${fid}-error`} className="field-error">{error}</span>}
    </div>
  );
}

export function TextAreaField({ label, hint, error, id, ...area }: Common & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className="field">
      <label htmlFor={fid}>{label}</label>
      <textarea
        id={fid}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${fid}-hint`, `${fid}-error`, hint, error)}
        {...area}
      />
      {hint && <span id={`${fid}-hint`} className="hint">{hint}</span>}
      {error && <span id={`${fid}-error`} className="field-error">{error}</span>}
    </div>
  );
}

export function CheckField({ label, hint, error, id, ...input }: Common & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div>
      <div className="check">
        <input
          id={fid}
          type="checkbox"
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy(`${fid}-hint`, `${fid}-error`, hint, error)}
          {...input}
        />
        <div>
          <label htmlFor={fid}>{label}</label>
          {hint && <div id={`${fid}-hint`} className="hint">{hint}</div>}
          {error && <div id={`${fid}-error`} className="field-error">{error}</div>}
        </div>
      </div>
    </div>
  );
}
