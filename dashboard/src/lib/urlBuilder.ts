// The URL builder: delivery options (delivery.md) to a query string, with the checks the edge
// would make, so a customer sees a mistake before loading the URL.
import { LIMITS } from '../api/limits';

export const FITS = ['scale-down', 'contain', 'cover', 'crop', 'pad', 'squeeze'] as const;
export const GRAVITIES = [
  'center', 'north', 'south', 'east', 'west', 'northeast', 'northwest', 'southeast', 'southwest', 'auto', 'entropy',
] as const;
export const FORMATS = ['auto', 'jpeg', 'png', 'webp', 'avif', 'gif'] as const;

export type Fit = (typeof FITS)[number];
export type Gravity = (typeof GRAVITIES)[number];
export type Format = (typeof FORMATS)[number];

/** The builder's fields as typed into the form (strings; empty = not set). */
export interface BuilderFields {
  w: string;
  h: string;
  fit: string;
  gravity: string;
  format: string;
  q: string;
  dpr: string;
  preset: string;
}

export const EMPTY_FIELDS: BuilderFields = { w: '', h: '', fit: '', gravity: '', format: '', q: '', dpr: '', preset: '' };

export interface BuilderLimits {
  /** The plan's max output dimension. */
  maxDimension: number;
  /** AVIF output in the plan. */
  avif: boolean;
}

/** The order options appear in: stable, so the same settings always give the same URL. */
/** A preset name as the API's OpenAPI document defines it (`?preset=` takes the same names). */
const PRESET_NAME = new RegExp(LIMITS.presetName.pattern);
function isPresetName(name: string): boolean {
  return name.length >= LIMITS.presetName.minLength && name.length <= LIMITS.presetName.maxLength && PRESET_NAME.test(name);
}

const ORDER: (keyof BuilderFields)[] = ['preset', 'w', 'h', 'fit', 'gravity', 'format', 'q', 'dpr'];

/** Field → message for every invalid field; empty when the options are valid. */
export function validateFields(f: BuilderFields, limits: BuilderLimits): Partial<Record<keyof BuilderFields, string>> {
  const errors: Partial<Record<keyof BuilderFields, string>> = {};
  const int = (v: string) => /^\d+$/.test(v.trim());
  for (const k of ['w', 'h'] as const) {
    const v = f[k].trim();
    if (!v) continue;
    if (!int(v) || Number(v) < 1) errors[k] = 'A whole number of pixels, at least 1.';
    else if (Number(v) > limits.maxDimension) errors[k] = `At most ${limits.maxDimension} px on your plan.`;
  }
  if (f.q.trim()) {
    const q = Number(f.q);
    if (!int(f.q) || q < 1 || q > 100) errors.q = 'A whole number from 1 to 100.';
  }
  if (f.dpr.trim()) {
    const d = Number(f.dpr);
    if (!/^\d+(\.\d+)?$/.test(f.dpr.trim()) || d < 1 || d > 4) errors.dpr = 'A number from 1 to 4.';
  }
  if (f.fit && !(FITS as readonly string[]).includes(f.fit)) errors.fit = 'Unknown fit.';
  if (f.gravity && !(GRAVITIES as readonly string[]).includes(f.gravity)) errors.gravity = 'Unknown gravity.';
  if (f.format && !(FORMATS as readonly string[]).includes(f.format)) errors.format = 'Unknown format.';
  if (f.format === 'avif' && !limits.avif) errors.format = 'AVIF output is not in your plan.';
  if (f.preset && !isPresetName(f.preset)) errors.preset = 'Unknown preset.';
  return errors;
}

/** The query string (without "?") for the fields that are set, e.g. "w=300&format=webp". */
export function optionsQuery(f: BuilderFields): string {
  const parts: string[] = [];
  for (const k of ORDER) {
    const v = f[k].trim();
    if (v) parts.push(`${k}=${encodeURIComponent(v)}`);
  }
  return parts.join('&');
}

/**
 * The query with a preset chosen: a field the preset sets is left out while it holds the
 * preset's value (the preset supplies it), and emitted once changed.
 */
export function optionsQueryWithPreset(f: BuilderFields, preset: BuilderFields | undefined): string {
  if (!preset) return optionsQuery(f);
  const own = { ...f };
  for (const k of ORDER) {
    if (k !== 'preset' && preset[k] && own[k].trim() === preset[k]) own[k] = '';
  }
  return optionsQuery(own);
}

/** The builder with `name` chosen: the preset's own values fill the fields it sets. */
export function choosePreset(f: BuilderFields, name: string, preset: BuilderFields | undefined): BuilderFields {
  const next = { ...f, preset: name };
  if (!preset) return next;
  for (const k of ORDER) {
    if (k !== 'preset' && preset[k]) next[k] = preset[k];
  }
  return next;
}

const FIELD_NAMES: Partial<Record<keyof BuilderFields, string>> = {
  w: 'Width', h: 'Height', fit: 'Fit', gravity: 'Gravity', format: 'Format', q: 'Quality', dpr: 'Device pixel ratio',
};

const CHOICES: Partial<Record<keyof BuilderFields, readonly string[]>> = { fit: FITS, gravity: GRAVITIES, format: FORMATS };

/** Every problem of a preset's options the builder can check, each a sentence naming its option
 *  and the plan's limits (the server checks the rest). */
export function presetOptionProblems(options: string, limits: BuilderLimits): string[] {
  const fields = fieldsFromQuery(options.replace(/^\?/, ''));
  const errors = validateFields({ ...fields, preset: '' }, limits);
  return ORDER.filter((k) => errors[k]).map((k) => {
    const name = FIELD_NAMES[k] ?? k;
    const choices = CHOICES[k];
    if (k === 'format' && fields.format === 'avif' && choices?.includes('avif')) return errors.format as string;
    if (choices) return `${name} must be one of ${choices.join(', ')} (${k}=${fields[k]}).`;
    const message = (errors[k] as string).replace(/\.$/, '');
    return `${name} must be ${message.charAt(0).toLowerCase()}${message.slice(1)} (${k}=${fields[k]}).`;
  });
}

/** Fields from a query string (the inverse of optionsQuery, for deep links); unknown keys dropped. */
export function fieldsFromQuery(query: string): BuilderFields {
  const out = { ...EMPTY_FIELDS };
  const aliases: Record<string, keyof BuilderFields> = {
    width: 'w', height: 'h', quality: 'q', fm: 'format', g: 'gravity',
  };
  for (const [k, v] of new URLSearchParams(query)) {
    const key = (aliases[k] ?? k) as keyof BuilderFields;
    if (key in out) out[key] = v;
  }
  return out;
}

/** An image path in a URL: each segment percent-encoded, the slashes kept. */
export function encodeImagePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** "/{public_key}/{path}?{options}" (no query when there are no options). */
export function deliveryPath(publicKey: string, path: string, query = ''): string {
  return `/${publicKey}/${encodeImagePath(path)}${query ? `?${query}` : ''}`;
}

/** The absolute delivery URL on an origin ("https://cdn.example.com"). */
export function deliveryUrl(origin: string, publicKey: string, path: string, query = ''): string {
  return `${origin.replace(/\/$/, '')}${deliveryPath(publicKey, path, query)}`;
}

/** The output width the options ask for (w × dpr, capped), for checking a preview; null = original. */
export function expectedWidth(f: BuilderFields, maxDimension: number): number | null {
  const w = Number(f.w);
  if (!f.w || !Number.isFinite(w)) return null;
  const dpr = f.dpr ? Number(f.dpr) : 1;
  return Math.min(Math.round(w * dpr), maxDimension);
}

/** A responsive `<img>` snippet with srcset widths for an image. */
export function srcsetSnippet(origin: string, publicKey: string, path: string, widths = [400, 800, 1200], alt = ''): string {
  const url = (w: number) => deliveryUrl(origin, publicKey, path, `w=${w}&format=auto`);
  const srcset = widths.map((w) => `${url(w)} ${w}w`).join(',\n          ');
  const escapedAlt = alt.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<img src="${url(widths[1] ?? widths[0] ?? 800)}"\n     srcset="${srcset}"\n     sizes="(max-width: 800px) 100vw, 800px"\n     alt="${escapedAlt}" loading="lazy">`;
}
