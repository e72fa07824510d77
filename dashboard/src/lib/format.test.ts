import { describe, expect, it } from 'vitest';
import { formatBytes, formatDate, formatDateTime, formatMoney, formatNumber, formatPercent, formatUsd, lastDays, quotaPercent } from './format';

describe('formatters', () => {
  it('bytes in SI units, as the spec counts them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1 KB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(1_000_000_000)).toBe('1 GB');
    expect(formatBytes(100_000_000_000)).toBe('100 GB');
    expect(formatBytes(1e12)).toBe('1 TB');
    expect(formatBytes(null)).toBe('—');
  });

  it('numbers and ratios', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatPercent(1, 3)).toBe('33.3%');
    expect(formatPercent(1, 1)).toBe('100%');
    expect(formatPercent(9999, 10000)).toBe('99.9%');
    expect(formatPercent(5, 0)).toBe('—');
    expect(quotaPercent(150, 100)).toBe(100);
    expect(quotaPercent(25, 100)).toBe(25);
    expect(quotaPercent(1, 0)).toBe(0);
  });

  it('dates in UTC', () => {
    expect(formatDate('2026-11-01T00:00:00Z')).toBe('Nov 1, 2026');
    expect(formatDateTime('2026-11-01T13:05:00Z')).toBe('Nov 1, 2026, 13:05 UTC');
    expect(formatDate(null)).toBe('—');
    expect(formatDate('nonsense')).toBe('—');
    expect(lastDays(7, new Date('2026-11-26T10:00:00Z'))).toEqual({ from: '2026-11-20', to: '2026-11-26' });
    expect(lastDays(1, new Date('2026-11-26T23:59:00Z'))).toEqual({ from: '2026-11-26', to: '2026-11-26' });
  });

  it('money from Stripe minor units', () => {
    expect(formatMoney(2000, 'usd')).toBe('$20.00');
    expect(formatMoney(500, 'jpy')).toBe('¥500');
    expect(formatUsd(20)).toBe('$20');
    expect(formatUsd(19.5)).toBe('$19.50');
  });
});
