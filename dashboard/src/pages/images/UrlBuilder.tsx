// The URL builder: options in, a live preview through the edge and the resulting URL out
// (signed by the server when the customer requires signed URLs).
import { useEffect, useState } from 'react';
import type { Customer, Image, Plan } from '../../api/client';
import { usePresets } from '../../api/queries';
import { CopyButton } from '../../components/CopyButton';
import { SelectField, TextField } from '../../components/Field';
import { GateNote } from '../../components/PlanGate';
import { ExternalIcon } from '../../components/Icons';
import { Alert, ErrorState, Spinner } from '../../components/States';
import { gateMessage } from '../../lib/plans';
import { useDeliveryUrl } from '../../lib/useDeliveryUrl';
import {
  EMPTY_FIELDS, FITS, FORMATS, GRAVITIES, choosePreset, expectedWidth, fieldsFromQuery, optionsQueryWithPreset,
  validateFields, type BuilderFields,
} from '../../lib/urlBuilder';

/** Said at a field whose value the URL does not carry yet. */
const NOT_UPDATED = 'The URL was not updated.';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setV(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function UrlBuilder({ image, customer, plans }: { image: Image; customer: Customer; plans: Plan[] }) {
  const [fields, setFields] = useState<BuilderFields>({ ...EMPTY_FIELDS, w: '800', format: 'auto' });
  const presets = usePresets();
  const plan = plans.find((p) => p.name === customer.plan);
  const limits = { maxDimension: plan?.max_dimension ?? 2048, avif: plan?.avif ?? false };
  const errors = validateFields(fields, limits);
  const valid = Object.keys(errors).length === 0;
  const presetsOnly = Boolean(customer.settings.presets_only);
  const requireSigned = Boolean(customer.settings.require_signed_urls);

  const chosenPreset = presets.data?.find((p) => p.name === fields.preset);
  const presetValues = chosenPreset ? fieldsFromQuery(chosenPreset.options) : undefined;
  const fromPreset = (k: keyof BuilderFields) => Boolean(presetValues?.[k]) && fields[k].trim() === presetValues?.[k];

  // The preview follows the form after a pause in typing; invalid options keep the last good URL.
  const query = optionsQueryWithPreset(fields, presetValues);
  const [lastGood, setLastGood] = useState(query);
  useEffect(() => {
    if (valid) setLastGood(query);
  }, [valid, query]);
  const debounced = useDebounced(lastGood, 350);
  const result = useDeliveryUrl(customer.public_key, image.path, debounced, requireSigned);

  const [preview, setPreview] = useState<{ url: string; state: 'loading' | 'loaded' | 'error'; width?: number; height?: number }>();
  useEffect(() => {
    if (result.url) setPreview({ url: result.url, state: 'loading' });
  }, [result.url]);

  const set = (k: keyof BuilderFields) => (e: { target: { value: string } }) => setFields((f) => ({ ...f, [k]: e.target.value }));
  const setPreset = (e: { target: { value: string } }) => {
    const name = e.target.value;
    const chosen = presets.data?.find((p) => p.name === name);
    setFields((f) => choosePreset(f, name, chosen ? fieldsFromQuery(chosen.options) : undefined));
  };
  /** The hint of a field the preset fills, while it holds the preset's value. */
  const presetHint = (k: keyof BuilderFields) => (fromPreset(k) ? `Set by the preset “${fields.preset}”.` : undefined);
  /** A field's error, and that the URL kept its last good options. */
  const fieldError = (message: string | undefined) => (message ? `${message} ${NOT_UPDATED}` : undefined);
  const avifGate = gateMessage(plans, customer.plan, { feature: 'avif' });
  const dimensionNote = `Up to ${limits.maxDimension} px on your plan.`;
  // What the preview was asked for: the options in the URL, which are not the form's while it is invalid.
  const expected = expectedWidth(fieldsFromQuery(debounced), limits.maxDimension);
  const rawDisabled = presetsOnly;
  // A size over the plan's limit names the plan that allows it.
  const sizeError = (k: 'w' | 'h') => {
    const message = errors[k];
    const value = Number(fields[k]);
    if (!message || !(value > limits.maxDimension)) return fieldError(message);
    const unlock = gateMessage(plans, customer.plan, { feature: 'max_dimension', pixels: value });
    return fieldError(unlock ? `${message} ${value} px: ${unlock.charAt(0).toLowerCase()}${unlock.slice(1)}.` : message);
  };

  return (
    <div className="stack">
      <div className="preview" aria-live="polite" aria-busy={preview?.state === 'loading'}>
        {preview && (
          <img
            key={preview.url}
            src={preview.url}
            alt={`Preview of ${image.path} with the options below`}
            referrerPolicy="no-referrer"
            data-testid="preview"
            onLoad={(e) => {
              const img = e.currentTarget;
              setPreview({ url: preview.url, state: 'loaded', width: img.naturalWidth, height: img.naturalHeight });
            }}
            onError={() => setPreview({ url: preview.url, state: 'error' })}
            style={preview.state === 'error' ? { display: 'none' } : undefined}
          />
        )}
        {(!preview || preview.state === 'loading') && !result.error && (
          <div className="state" style={{ position: 'absolute' }}><Spinner label="Rendering preview…" /></div>
        )}
        {preview?.state === 'error' && (
          <div className="state" role="alert">
            <strong>The edge refused these options.</strong>
            <span>Open the URL to read its error.</span>
          </div>
        )}
        {Boolean(result.error) && <ErrorState error={result.error} title="The URL could not be signed" />}
      </div>
      <p className="muted small" data-testid="preview-size">
        {preview?.state === 'loaded'
          ? `Preview: ${preview.width} × ${preview.height} px${expected && preview.width !== expected ? ` (asked for ${expected} px wide)` : ''}`
          : '\u00a0'}
      </p>

      <div className="field">
        <label htmlFor="result-url">Resulting URL{requireSigned ? ' (signed)' : ''}</label>
        <div className="copy-field">
          <input id="result-url" type="text" readOnly value={result.url ?? ''} data-testid="result-url" onFocus={(e) => e.currentTarget.select()} />
          <CopyButton text={result.url ?? ''} what="the URL" />
        </div>
        <span className="hint">
          Options: <code>{lastGood || '(none: the original)'}</code>
          {result.url && (
            <>
              {' · '}
              <a href={result.url} target="_blank" rel="noopener noreferrer">Open <ExternalIcon width={14} height={14} /></a>
            </>
          )}
        </span>
      </div>
      {presetsOnly && (
        <Alert kind="info">
          Presets-only mode is on: only presets (and the original) are served. Choose a preset, or turn the mode off in Settings.
        </Alert>
      )}

      <form className="form-grid" onSubmit={(e) => e.preventDefault()} aria-label="URL options">
        {(presets.data?.length ?? 0) > 0 && (
          <SelectField label="Preset" value={fields.preset} onChange={setPreset} error={fieldError(errors.preset)}>
            <option value="">None</option>
            {presets.data?.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </SelectField>
        )}
        <TextField label="Width (w)" inputMode="numeric" value={fields.w} onChange={set('w')} error={sizeError('w')} hint={errors.w ? undefined : presetHint('w') ?? dimensionNote} disabled={rawDisabled} placeholder="auto" />
        <TextField label="Height (h)" inputMode="numeric" value={fields.h} onChange={set('h')} error={sizeError('h')} hint={presetHint('h')} disabled={rawDisabled} placeholder="auto" />
        <SelectField label="Fit" value={fields.fit} onChange={set('fit')} error={fieldError(errors.fit)} hint={presetHint('fit')} disabled={rawDisabled}>
          <option value="">Default (scale-down)</option>
          {FITS.map((f) => <option key={f} value={f}>{f}</option>)}
        </SelectField>
        <SelectField label="Gravity" value={fields.gravity} onChange={set('gravity')} error={fieldError(errors.gravity)} hint={presetHint('gravity')} disabled={rawDisabled}>
          <option value="">Default (center)</option>
          {GRAVITIES.map((g) => <option key={g} value={g}>{g}</option>)}
        </SelectField>
        <SelectField
          label="Format"
          value={fields.format}
          onChange={set('format')}
          error={fieldError(errors.format)}
          disabled={rawDisabled}
          hint={avifGate ? <GateNote message={`AVIF: ${avifGate}`} /> : presetHint('format')}
        >
          <option value="">Original format</option>
          {FORMATS.map((f) => (
            <option key={f} value={f} disabled={f === 'avif' && Boolean(avifGate)}>
              {f === 'auto' ? 'auto (AVIF/WebP by browser)' : f}{f === 'avif' && avifGate ? ' (upgrade)' : ''}
            </option>
          ))}
        </SelectField>
        <TextField label="Quality (q)" inputMode="numeric" value={fields.q} onChange={set('q')} error={fieldError(errors.q)} hint={presetHint('q')} disabled={rawDisabled} placeholder="default" />
        <TextField label="Device pixel ratio (dpr)" inputMode="decimal" value={fields.dpr} onChange={set('dpr')} error={fieldError(errors.dpr)} hint={presetHint('dpr')} disabled={rawDisabled} placeholder="1" />
      </form>

    </div>
  );
}
