// Usage series helpers: totals, and hour series zero-filled for charts (the API lists only the
// hours with traffic; day series come zero-filled already).

export interface Bucket {
  t: string;
  requests: number;
  bytes_out: number;
  transforms: number;
  cache_hits: number;
  errors: number;
}

export const METRICS = ['requests', 'bytes_out', 'transforms', 'cache_hits', 'errors'] as const;
export type Metric = (typeof METRICS)[number];

export function totals(items: readonly Bucket[]): Record<Metric, number> {
  const t = { requests: 0, bytes_out: 0, transforms: 0, cache_hits: 0, errors: 0 };
  for (const b of items) for (const m of METRICS) t[m] += b[m];
  return t;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** Every hour from `from` 00:00 to the end of `to` (or `now`, if earlier), missing ones as zeros. */
export function zeroFillHours(items: readonly Bucket[], from: string, to: string, now = Date.now()): Bucket[] {
  const start = dayStart(from);
  const end = Math.min(dayStart(to) + DAY - HOUR, Math.floor(now / HOUR) * HOUR);
  const byTime = new Map(items.map((b) => [Date.parse(b.t), b]));
  const out: Bucket[] = [];
  if (!Number.isFinite(start) || !Number.isFinite(end)) return [...items];
  for (let t = start; t <= end; t += HOUR) {
    out.push(byTime.get(t) ?? { t: new Date(t).toISOString().replace('.000Z', 'Z'), requests: 0, bytes_out: 0, transforms: 0, cache_hits: 0, errors: 0 });
  }
  // Buckets outside the range (clock skew) are kept, in order.
  for (const b of items) {
    const t = Date.parse(b.t);
    if (t < start || t > end) out.push(b);
  }
  return out.sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
}

/** Days from `from` to `to` inclusive; NaN for bad dates. */
export function rangeDays(from: string, to: string): number {
  return Math.round((dayStart(to) - dayStart(from)) / DAY) + 1;
}

/** What is wrong with a range, as the API would say it; undefined when it is fine. */
export function validateRange(from: string, to: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) return 'Choose both dates.';
  const days = rangeDays(from, to);
  if (!Number.isFinite(days)) return 'Choose valid dates.';
  if (days < 1) return 'The start date must not be after the end date.';
  if (days > 367) return 'Choose at most 366 days.';
  return undefined;
}
