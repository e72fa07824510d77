import { describe, expect, it } from 'vitest';
import {
  EMPTY_FIELDS, deliveryPath, deliveryUrl, encodeImagePath, expectedWidth, fieldsFromQuery, optionsQuery,
  srcsetSnippet, validateFields, choosePreset, optionsQueryWithPreset, presetOptionProblems,
} from './urlBuilder';

const limits = { maxDimension: 2048, avif: false };
const f = (over: Partial<typeof EMPTY_FIELDS>) => ({ ...EMPTY_FIELDS, ...over });

describe('URL builder', () => {
  it('builds the query in a stable order, only with set fields', () => {
    expect(optionsQuery(f({ format: 'webp', w: '300' }))).toBe('w=300&format=webp');
    expect(optionsQuery(f({ dpr: '2', q: '70', gravity: 'north', fit: 'cover', h: '200', w: '300' }))).toBe(
      'w=300&h=200&fit=cover&gravity=north&q=70&dpr=2',
    );
    expect(optionsQuery(f({ preset: 'thumb', w: '100' }))).toBe('preset=thumb&w=100');
    expect(optionsQuery(EMPTY_FIELDS)).toBe('');
    expect(optionsQuery(f({ w: ' 300 ' }))).toBe('w=300');
  });

  it('reads a query back, with the aliases', () => {
    expect(fieldsFromQuery('width=300&fm=webp&quality=70&g=east&unknown=1')).toEqual(
      f({ w: '300', format: 'webp', q: '70', gravity: 'east' }),
    );
  });

  it('encodes each path segment but keeps the slashes', () => {
    expect(encodeImagePath('my folder/lady bird.jpg')).toBe('my%20folder/lady%20bird.jpg');
    expect(encodeImagePath('a/b?c#d.png')).toBe('a/b%3Fc%23d.png');
    expect(deliveryPath('pk_x', 'a b.jpg', 'w=300')).toBe('/pk_x/a%20b.jpg?w=300');
    expect(deliveryPath('pk_x', 'a.jpg')).toBe('/pk_x/a.jpg');
    expect(deliveryUrl('https://cdn.example.com/', 'pk_x', 'a.jpg', 'w=1')).toBe('https://cdn.example.com/pk_x/a.jpg?w=1');
  });

  it('checks options as the edge would, with the plan limits', () => {
    expect(validateFields(f({ w: '300', format: 'webp' }), limits)).toEqual({});
    expect(validateFields(f({ w: '0' }), limits).w).toMatch(/at least 1/);
    expect(validateFields(f({ w: '12.5' }), limits).w).toBeDefined();
    expect(validateFields(f({ h: '4096' }), limits).h).toBe('At most 2048 px on your plan.');
    expect(validateFields(f({ h: '4096' }), { maxDimension: 4096, avif: true }).h).toBeUndefined();
    expect(validateFields(f({ q: '101' }), limits).q).toBeDefined();
    expect(validateFields(f({ dpr: '5' }), limits).dpr).toBeDefined();
    expect(validateFields(f({ dpr: '1.5' }), limits).dpr).toBeUndefined();
    expect(validateFields(f({ format: 'avif' }), limits).format).toMatch(/not in your plan/);
    expect(validateFields(f({ format: 'avif' }), { maxDimension: 4096, avif: true }).format).toBeUndefined();
    expect(validateFields(f({ fit: 'stretch' }), limits).fit).toBeDefined();
  });

  it('predicts the output width (dpr folded in, capped at the plan)', () => {
    expect(expectedWidth(f({ w: '300' }), 2048)).toBe(300);
    expect(expectedWidth(f({ w: '300', dpr: '2' }), 2048)).toBe(600);
    expect(expectedWidth(f({ w: '1500', dpr: '2' }), 2048)).toBe(2048);
    expect(expectedWidth(f({}), 2048)).toBeNull();
  });

  it('writes a responsive img snippet with escaped alt text', () => {
    const s = srcsetSnippet('https://cdn.test', 'pk_x', 'a.jpg', [400, 800], 'A "quote" <b>');
    expect(s).toContain('src="https://cdn.test/pk_x/a.jpg?w=800&format=auto"');
    expect(s).toContain('https://cdn.test/pk_x/a.jpg?w=400&format=auto 400w');
    expect(s).toContain('alt="A &quot;quote&quot; &lt;b>"');
  });
});

describe('URL builder with a preset', () => {
  const thumb = fieldsFromQuery('w=300&h=200&fit=cover');

  it('shows the preset’s values and leaves them out of the URL until changed', () => {
    const chosen = choosePreset(f({ w: '800', format: 'auto' }), 'thumb', thumb);
    expect(chosen).toMatchObject({ preset: 'thumb', w: '300', h: '200', fit: 'cover', format: 'auto' });
    expect(optionsQueryWithPreset(chosen, thumb)).toBe('preset=thumb&format=auto');
    expect(optionsQueryWithPreset({ ...chosen, w: '400' }, thumb)).toBe('preset=thumb&w=400&format=auto');
  });

  it('lists every problem of a preset’s options with the plan’s limit', () => {
    const problems = presetOptionProblems('w=5000&h=abc&fit=bogus', limits);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('Width must be at most 2048 px on your plan (w=5000).');
    expect(problems[2]).toMatch(/^Fit must be one of scale-down, .* \(fit=bogus\)\.$/);
    expect(problems.join(' ')).not.toMatch(/8192/);
  });
});
