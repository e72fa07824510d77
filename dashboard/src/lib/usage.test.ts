import { describe, expect, it } from 'vitest';
import { totals, validateRange, zeroFillHours } from './usage';

const b = (t: string, requests: number) => ({ t, requests, bytes_out: requests * 10, transforms: 1, cache_hits: requests - 1, errors: 0 });

describe('usage series', () => {
  it('adds up every metric', () => {
    expect(totals([b('2026-11-01T00:00:00Z', 3), b('2026-11-02T00:00:00Z', 2)])).toEqual({
      requests: 5, bytes_out: 50, transforms: 2, cache_hits: 3, errors: 0,
    });
  });

  it('fills the hours without traffic with zeros, up to now', () => {
    const now = Date.parse('2026-11-01T05:30:00Z');
    const out = zeroFillHours([b('2026-11-01T02:00:00Z', 4)], '2026-11-01', '2026-11-01', now);
    expect(out.map((x) => x.t)).toEqual([
      '2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z', '2026-11-01T02:00:00Z',
      '2026-11-01T03:00:00Z', '2026-11-01T04:00:00Z', '2026-11-01T05:00:00Z',
    ]);
    expect(out.map((x) => x.requests)).toEqual([0, 0, 4, 0, 0, 0]);
  });

  it('covers whole past days', () => {
    const out = zeroFillHours([], '2026-10-01', '2026-10-02', Date.parse('2026-11-01T00:00:00Z'));
    expect(out).toHaveLength(48);
  });

  it('checks ranges as the API does', () => {
    expect(validateRange('2026-11-01', '2026-11-30')).toBeUndefined();
    expect(validateRange('2026-11-30', '2026-11-01')).toMatch(/must not be after/);
    expect(validateRange('2025-01-01', '2026-11-01')).toMatch(/366/);
    expect(validateRange('', '2026-11-01')).toBeDefined();
  });
});
