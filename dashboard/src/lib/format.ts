// Formatting for people. Sizes use SI units as the spec does (1 MB = 10^6 bytes).

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

export function formatBytes(bytes: number | null | undefined, digits = 1): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  if (Math.abs(bytes) < 1000) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = value >= 100 ? value.toFixed(0) : value.toFixed(digits);
  return `${text.replace(/\.0+$/, '')} ${UNITS[unit]}`;
}

const numberFormat = new Intl.NumberFormat('en-US');
export function formatNumber(n: number | null | undefined): string {
  return n == null || !Number.isFinite(n) ? '—' : numberFormat.format(n);
}

/** 0.1234 → "12.3%"; a ratio with a zero denominator → "—". */
export function formatPercent(part: number, whole: number, digits = 1): string {
  if (!whole) return '—';
  const p = (part / whole) * 100;
  return `${p >= 99.95 && p < 100 ? '99.9' : p.toFixed(digits).replace(/\.0$/, '')}%`;
}

/** Share of a quota, clamped to 0..100, for bars. */
export function quotaPercent(used: number, quota: number): number {
  if (!quota || quota <= 0) return 0;
  return Math.max(0, Math.min(100, (used / quota) * 100));
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toLocaleString('en-US', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC',
  })} UTC`;
}

/** Stripe amounts are in minor units: 2000 usd → "$20.00". */
export function formatMoney(minor: number, currency: string): string {
  const code = currency.toUpperCase();
  let fractionDigits = 2;
  try {
    fractionDigits = new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`;
  }
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).format(minor / 10 ** fractionDigits);
}

export function formatUsd(dollars: number): string {
  return Number.isInteger(dollars) ? `$${dollars}` : `$${dollars.toFixed(2)}`;
}

/** "YYYY-MM-DD" of a date in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The first `n` days ending today (UTC): [from, to] as YYYY-MM-DD. */
export function lastDays(n: number, today = new Date()): { from: string; to: string } {
  const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  const from = new Date(to.getTime() - (n - 1) * 86_400_000);
  return { from: isoDay(from), to: isoDay(to) };
}

export function capitalize(s: string): string {
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}
