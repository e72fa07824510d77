import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { signUrl, signPathAndQuery } from './sign-url.mjs';

// Generated with `openssl dgst -sha256 -hmac`, and checked by the C++ sign_url too.
const vectors = JSON.parse(
  readFileSync(new URL('../../tests/vectors/signed_urls.json', import.meta.url), 'utf8'),
);

test('shared vectors', () => {
  assert.ok(vectors.length >= 5);
  for (const { url, secret, signed } of vectors) {
    assert.equal(signUrl(url, secret), signed, url);
  }
});

test('RFC 4231 known answer', () => {
  assert.equal(
    signPathAndQuery('what do ya want for nothing?', '', 'Jefe'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('refuses what the C++ sign_url refuses', () => {
  const bad = [
    '/a.png?s=abc', '/a.png?w=1&sig=abc', '/a.png?s', 'a.png', '//cdn.example.com/a.png', '',
    'https://cdn.example.com', 'https://cdn.example.com?w=1', 'https:///a.png', 'ftp://x/a.png',
    '/a b.png', '/café.png', '/a.png?bg="red"',
  ];
  for (const url of bad) {
    assert.throws(() => signUrl(url, 'secret'), { code: 'invalid_parameter' }, url);
  }
  assert.throws(() => signUrl('/a.png', ''), { code: 'invalid_parameter' });
});
