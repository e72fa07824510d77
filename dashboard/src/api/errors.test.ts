import { describe, expect, it } from 'vitest';
import { ApiError, describeError, fieldErrors } from './errors';

describe('ApiError', () => {
  it('reads the API’s error body', () => {
    const e = ApiError.from(422, { error: { code: 'invalid_settings', message: 'default_quality: must be 1..100', field: 'default_quality' } });
    expect(e).toMatchObject({ status: 422, code: 'invalid_settings', field: 'default_quality' });
    expect(e.message).toBe('default_quality: must be 1..100');
  });

  it('copes with a body that is not ours', () => {
    const e = ApiError.from(502, '<html>Bad gateway</html>');
    expect(e.code).toBe('http_502');
    expect(describeError(e)).toBe('The server answered 502.');
  });

  it('keeps Retry-After', () => {
    const e = ApiError.from(429, { error: { code: 'too_many_requests', message: 'slow down' } }, '12');
    expect(describeError(e)).toBe('Too many attempts. Try again in 12 s.');
  });
});

describe('error messages', () => {
  it('says what a known code means and keeps the API’s detail', () => {
    const e = new ApiError(415, 'unsupported_media_type', 'the content is not an image this service accepts');
    expect(describeError(e)).toMatch(/^Not an image this service accepts .*\(the content is not an image this service accepts\)$/);
    expect(describeError(new ApiError(402, 'storage_quota_exceeded', 'x'))).toMatch(/storage quota is full/);
    expect(describeError(new ApiError(413, 'payload_too_large', 'x'))).toMatch(/Too large/);
    expect(describeError(new ApiError(502, 'billing_unavailable', 'stripe timed out'))).toMatch(/Billing is temporarily unavailable/);
  });

  it('does not repeat the same sentence twice', () => {
    expect(describeError(new ApiError(401, 'invalid_credentials', 'Wrong email or password'))).toBe('Wrong email or password.');
  });

  it('falls back to the API’s message, then to a generic one', () => {
    expect(describeError(new ApiError(409, 'preset_limit', 'at most 100 presets'))).toBe('at most 100 presets');
    expect(describeError(ApiError.network())).toMatch(/Cannot reach the server/);
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('?')).toBe('Something went wrong.');
  });

  it('maps a field error to its field, without repeating the field name', () => {
    const e = new ApiError(422, 'invalid_preset', 'options: width must be an integer from 1 to 8192', 'options');
    expect(fieldErrors(e)).toEqual({ options: 'Width must be an integer from 1 to 8192' });
    expect(fieldErrors(new ApiError(500, 'internal_error', 'x'))).toEqual({});
  });
});
