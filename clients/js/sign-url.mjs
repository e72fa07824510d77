// Signs ImageCDN delivery URLs: the same rules as cdn::security::sign_url (src/security/url_signing.h).
// Node >= 18, no dependencies.
//
//   import { signUrl } from './sign-url.mjs';
//   signUrl('https://cdn.example.com/pk_abc/a.png?w=800&exp=1900000000', secret);
//   // -> 'https://cdn.example.com/pk_abc/a.png?w=800&exp=1900000000&s=<64 hex>'
//
// s = lowercase hex HMAC-SHA256(secret, path + '?' + query), or of the path alone without a query,
// over the bytes exactly as they will be sent; s is appended as the last parameter.

import { createHmac } from 'node:crypto';

// RFC 3986 characters allowed unencoded (plus '%' for escapes). Anything else would be
// percent-encoded by the HTTP client, changing the bytes the server verifies.
const URL_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:/?#[\]@%]*$/;

function invalid(message) {
  const error = new TypeError(message);
  error.code = 'invalid_parameter';
  return error;
}

/**
 * HMAC-SHA256 of `path` (+ '?' + `query` when the query is non-empty), as lowercase hex.
 * @param {string} path
 * @param {string} query the raw query without '?' and without s
 * @param {string} secret
 * @returns {string}
 */
export function signPathAndQuery(path, query, secret) {
  const message = query === '' ? path : `${path}?${query}`;
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(message, 'utf8'))
    .digest('hex');
}

/**
 * Appends `s=<signature>` as the last parameter of `url`: a path with an optional query
 * ('/pk_abc/a.png?w=800') or an absolute http(s) URL (only its path and query are signed).
 * A '#fragment' is kept after the signature.
 * @param {string} url already percent-encoded exactly as it will be requested
 * @param {string} secret the customer's URL-signing secret
 * @returns {string} the signed URL
 * @throws {TypeError} (code 'invalid_parameter') for an empty secret, a URL that is neither
 *   a path nor an absolute http(s) URL with a path, a character that must be percent-encoded,
 *   or a URL that already has s or sig
 */
export function signUrl(url, secret) {
  if (typeof url !== 'string') {
    throw invalid('url must be a string');
  }
  if (typeof secret !== 'string' || secret === '') {
    throw invalid('the signing secret must not be empty');
  }
  if (!URL_CHARS.test(url)) {
    throw invalid('url contains a character that must be percent-encoded');
  }
  const hash = url.indexOf('#');
  const fragment = hash === -1 ? '' : url.slice(hash);
  let rest = hash === -1 ? url : url.slice(0, hash);

  let origin = '';
  const lower = rest.slice(0, 8).toLowerCase();
  const schemeLength = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : 0;
  if (schemeLength > 0) {
    let pathStart = rest.length;
    for (let i = schemeLength; i < rest.length; i++) {
      if (rest[i] === '/' || rest[i] === '?') {
        pathStart = i;
        break;
      }
    }
    if (pathStart === schemeLength) {
      throw invalid('url has no host');
    }
    origin = rest.slice(0, pathStart);
    rest = rest.slice(pathStart);
    if (!rest.startsWith('/')) {
      throw invalid('url has no path');
    }
  } else if (!rest.startsWith('/') || rest.startsWith('//')) {
    throw invalid('url must be a path starting with / or an absolute http(s) URL');
  }

  const question = rest.indexOf('?');
  const path = question === -1 ? rest : rest.slice(0, question);
  const query = question === -1 ? '' : rest.slice(question + 1);
  if (query !== '') {
    for (const param of query.split('&')) {
      const eq = param.indexOf('=');
      const name = eq === -1 ? param : param.slice(0, eq);
      if (name === 's' || name === 'sig') {
        throw invalid('url already has a signature parameter (s or sig)');
      }
    }
  }
  const signature = signPathAndQuery(path, query, secret);
  return `${origin}${path}?${query === '' ? '' : `${query}&`}s=${signature}${fragment}`;
}
