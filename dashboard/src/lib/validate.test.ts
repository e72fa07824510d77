import { describe, expect, it } from 'vitest';
import { validateEmail, validateHost, validateImagePath, validatePassword } from './validate';

describe('form validation', () => {
  it('emails and passwords as signup needs them', () => {
    expect(validateEmail('you@example.com')).toBeUndefined();
    expect(validateEmail('you@example')).toBeDefined();
    expect(validateEmail('')).toBe('Enter your email address.');
    expect(validatePassword('short')).toBe('At least 10 characters (5 so far).');
    expect(validatePassword('long enough!')).toBeUndefined();
  });

  it('host names, with wildcards only where allowed', () => {
    expect(validateHost('www.example.com', true)).toBeUndefined();
    expect(validateHost('*.example.com', true)).toBeUndefined();
    expect(validateHost('*.example.com', false)).toBeDefined();
    expect(validateHost('https://example.com', true)).toMatch(/without https/);
    expect(validateHost('example.com:8080', true)).toMatch(/port/);
    expect(validateHost('exa mple.com', true)).toBeDefined();
    expect(validateHost('a.*.com', true)).toBeDefined();
    expect(validateHost('-bad.com', true)).toBeDefined();
    expect(validateHost('localhost', false)).toBeUndefined();
  });

  it('a bare word or a bare wildcard is not a domain', () => {
    expect(validateHost('example', true)).toBe('Enter the full domain, like example.com.');
    expect(validateHost('*.', true)).toBe('Add the domain after "*.", like *.example.com.');
    expect(validateHost('*', true)).toBe('Add the domain after "*.", like *.example.com.');
  });

  it('image paths as the API accepts them', () => {
    expect(validateImagePath('products/shoe.jpg')).toBeUndefined();
    expect(validateImagePath('/leading.jpg')).toBeDefined();
    expect(validateImagePath('a/../b.jpg')).toBeDefined();
    expect(validateImagePath('a\\b.jpg')).toBeDefined();
    expect(validateImagePath('a\u0001b')).toBeDefined();
    expect(validateImagePath('x'.repeat(997))).toBeDefined();
  });
});
