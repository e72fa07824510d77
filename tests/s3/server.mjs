// s3rver behind a SigV4-verifying proxy, for the S3 store's tests (tests/support/s3rver_process.*).
// s3rver checks the access key but not signatures, so every request first goes through the proxy:
// it signs the request again with the AWS SDK's own signer (@smithy/signature-v4) and answers
// 403 SignatureDoesNotMatch on any difference (header signing and presigned URLs alike), else
// forwards it to s3rver. Both listen on free 127.0.0.1 ports; s3rver keeps its objects in a
// fresh temporary folder, removed on exit, or in DIRECTORY, kept. Prints `READY <proxy port>
// <s3rver port>` once both listen. Exits when its standard input closes (the test process ended,
// however it ended). Given the ports and directory of a previous run, it comes back as it was.
// Usage: node server.mjs BUCKET [PROXY_PORT S3RVER_PORT DIRECTORY]
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { createHash } from 'node:crypto';
import { serializeWrites } from './serialize_writes.mjs';

// s3rver's only account.
const SECRETS = { S3RVER: 'S3RVER' };
const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
  'X-Amz-SignedHeaders', 'X-Amz-Signature'];

/** RFC 3986 encoding of one path segment, as the AWS SDK encodes S3 keys. */
const encodeSegment = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function parseQuery(raw) {
  const query = {};
  for (const pair of raw ? raw.split('&') : []) {
    const eq = pair.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    query[name] = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
  }
  return query;
}

const amzDate = (text) =>
  new Date(text.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));

/** What the request claims: credential scope, signed headers, signature, date. */
function claims(req, query) {
  if (query['X-Amz-Signature'] !== undefined) {
    const [accessKey, , region] = query['X-Amz-Credential'].split('/');
    return { presigned: true, accessKey, region, signedHeaders: query['X-Amz-SignedHeaders'].split(';'),
      signature: query['X-Amz-Signature'], date: query['X-Amz-Date'], expires: Number(query['X-Amz-Expires']) };
  }
  const auth = req.headers.authorization ?? '';
  const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/);
  if (!m) return null;
  return { presigned: false, accessKey: m[1], region: m[2], signedHeaders: m[3].split(';'),
    signature: m[4], date: req.headers['x-amz-date'] };
}

/** The signature the AWS SDK's signer computes for this request, or a reason it cannot. */
async function expectedSignature(req, body, claim, query) {
  const secret = SECRETS[claim.accessKey];
  if (secret === undefined) return { error: 'InvalidAccessKeyId' };
  const [rawPath] = req.url.split('?');
  const pathname = rawPath.split('/').map((s) => encodeSegment(decodeURIComponent(s))).join('/');
  const headers = {};
  for (const name of claim.signedHeaders) headers[name] = req.headers[name] ?? '';
  const signer = new SignatureV4({ credentials: { accessKeyId: claim.accessKey, secretAccessKey: secret },
    region: claim.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signingDate = amzDate(claim.date);
  const request = { method: req.method, protocol: 'http:', hostname: '127.0.0.1', path: pathname,
    query: { ...query }, headers, body };
  if (claim.presigned) {
    for (const name of PRESIGN_PARAMS) delete request.query[name];
    request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const unsigned = new Set(['x-amz-content-sha256']);
    const signed = await signer.presign(request, { signingDate, expiresIn: claim.expires,
      unhoistableHeaders: unsigned, unsignableHeaders: unsigned });
    return { signature: signed.query['X-Amz-Signature'] };
  }
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== 'UNSIGNED-PAYLOAD' && declared !== createHash('sha256').update(body).digest('hex')) {
    return { error: 'XAmzContentSHA256Mismatch' };
  }
  const signed = await signer.sign(request, { signingDate });
  return { signature: signed.headers.authorization.match(/Signature=([0-9a-f]{64})/)[1] };
}

function refuse(res, code, status = 403) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>refused by the verifying proxy</Message></Error>`);
}

function forward(req, res, body, target) {
  const upstream = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url,
    headers: req.headers }, (answer) => {
    const headers = { ...answer.headers };
    if (chunked) delete headers['content-length'];
    res.writeHead(answer.statusCode, headers);
    answer.pipe(res);
  });
  // After the answer's head is sent only the connection can say it failed: writing a second
  // head threw, and the uncaught error ended this process (every later store call in the
  // suite was then "unavailable").
  upstream.on('error', () => (res.headersSent ? res.destroy() : refuse(res, 'ProxyUpstreamError', 502)));
  upstream.end(body);
}

// Test controls, under /_proxy/ (no bucket can be named so): `POST /_proxy/fail?count=N&status=S
// &skip=K` lets K requests through, then answers the next N with S (503 is S3's SlowDown); `GET /_proxy/stats` counts the
// connections accepted and the requests verified so far (connection reuse shows there);
// `POST /_proxy/chunked?on=1` forwards answers without their Content-Length (chunked).
const stats = { connections: 0, requests: 0 };
let chunked = false;
const failures = { count: 0, status: 503, skip: 0 };

function control(req, res, query) {
  if (req.url.startsWith('/_proxy/chunked')) {
    chunked = query.on === '1';
    res.writeHead(204);
    return res.end();
  }
  if (req.url.startsWith('/_proxy/fail')) {
    failures.count = Number(query.count ?? 1);
    failures.status = Number(query.status ?? 503);
    failures.skip = Number(query.skip ?? 0);
    res.writeHead(204);
    return res.end();
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(stats));
}

async function verify(req, body, target, res) {
  const [, rawQuery] = req.url.split('?');
  const query = parseQuery(rawQuery);
  if (req.url.startsWith('/_proxy/')) return control(req, res, query);
  stats.requests += 1;
  if (failures.count > 0 && failures.skip > 0) {
    failures.skip -= 1;
  } else if (failures.count > 0) {
    failures.count -= 1;
    return refuse(res, failures.status === 503 ? 'SlowDown' : 'InternalError', failures.status);
  }
  const claim = claims(req, query);
  if (!claim) return refuse(res, 'AccessDenied');
  const expected = await expectedSignature(req, body, claim, query);
  if (expected.error) return refuse(res, expected.error);
  if (expected.signature !== claim.signature) return refuse(res, 'SignatureDoesNotMatch');
  if (claim.presigned && amzDate(claim.date).getTime() + claim.expires * 1000 < Date.now()) {
    return refuse(res, 'AccessDenied');
  }
  forward(req, res, body, target);
}

const [bucket = 'originals', proxyPort = '0', s3rverPort = '0', kept] = process.argv.slice(2);
const directory = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
// serviceEndpoint "localhost": `{bucket}.s3.localhost:<port>` is a virtual-host request.
const s3rver = new S3rver({ address: '127.0.0.1', port: Number(s3rverPort), silent: true, directory,
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket }] });
serializeWrites(s3rver.store);
const { port: s3Port } = await s3rver.run();
const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => verify(req, Buffer.concat(chunks), s3Port, res).catch((e) => {
    process.stderr.write(`proxy: ${e.stack}\n`);
    refuse(res, 'InternalError', 500);
  }));
});
proxy.on('connection', () => { stats.connections += 1; });
proxy.keepAliveTimeout = 60000;
proxy.listen(Number(proxyPort), '127.0.0.1', () => {
  process.stdout.write(`READY ${proxy.address().port} ${s3Port}\n`);
});

const stop = () => {
  if (kept === undefined) fs.rmSync(directory, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
