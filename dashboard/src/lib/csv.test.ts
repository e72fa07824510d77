import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from './csv';

describe('CSV export', () => {
  it('writes a header and one CRLF line a row', () => {
    const rows = [
      { t: '2026-11-01T00:00:00Z', requests: 3, bytes_out: 1200 },
      { t: '2026-11-02T00:00:00Z', requests: 0, bytes_out: 0 },
    ];
    expect(toCsv(rows, ['t', 'requests', 'bytes_out'])).toBe(
      't,requests,bytes_out\r\n2026-11-01T00:00:00Z,3,1200\r\n2026-11-02T00:00:00Z,0,0\r\n',
    );
  });

  it('quotes what needs quoting (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' padded')).toBe('" padded"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(42)).toBe('42');
  });

  it('an empty series is just the header', () => {
    expect(toCsv([] as { a: number }[], ['a'])).toBe('a\r\n');
  });
});
