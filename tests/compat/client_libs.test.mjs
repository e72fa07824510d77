// URLs built by the clients sites already use, fetched from the real binary (issue 15, item 3):
// @imgix/js-core's buildURL and buildSrcSet, Next.js's built-in imgix loader and Cloudflare's
// documented Next.js loader. Only the scheme and host change: a URL on the customer's custom
// domain is sent with that Host (as after a DNS switch), one on a shared CDN host goes to our
// host with the public key as its first path segment. Every URL must answer 200 with the
// Content-Type the request calls for and the dimensions, read from the bytes by sharp, that
// delivery.md's fit rules give for the original as displayed.
//
//   node client_libs.test.mjs [path/to/imagecdn]     (CTest: compat_client_libs)
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import ImgixClient from '@imgix/js-core';
import sharp from 'sharp';
import { binaryPath, CUSTOM_DOMAIN, get, ORIGINALS, startServer } from './harness.mjs';
import { cloudflareLoader, NEXT_DEVICE_SIZES, nextImgixLoader } from './loaders.mjs';

const { landscape, portrait } = ORIGINALS;

// The Accept headers browsers send for an <img>, which format=auto / auto=format negotiate on.
const ACCEPT = {
  chrome: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  firefox: 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
  safari17: 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,' +
            'image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5',
  safari14: 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5',
  plain: '*/*', // a client that names no image type (curl, a server-side fetch)
};
// On the pro plan (the test's customer) format=auto answers AVIF when it is accepted.
const NEGOTIATED = { chrome: 'image/avif', firefox: 'image/avif', safari17: 'image/avif',
                     safari14: 'image/webp', plain: 'image/jpeg' };

const SHARED_HOST = 'cdn.imagecdn.test';
const PRO_MAX_DIMENSION = 4096; // plans.md

const server = await startServer(binaryPath());
const shared = (path) => `${server.publicKey}/${path}`; // a path on SHARED_HOST

/** The size scale-down (the default fit, imgix's `max`, Cloudflare's `scale-down`) gives:
 *  inside the box w×h times dpr, never larger than the original. */
function scaleDown(original, { w, h, dpr = 1 }) {
  const scale = Math.min(1, w ? (w * dpr) / original.width : Infinity,
                         h ? (h * dpr) / original.height : Infinity);
  return { width: original.width * scale, height: original.height * scale };
}

// Each case: the URL as the library built it, the browser whose Accept it carries, and the
// answer expected (type; width and height, where a fraction means either rounding).
const cases = [];
const add = (source, url, accept, type, size, extra = {}) =>
  cases.push({ source, url, accept, type, ...size, ...extra });

// ---- @imgix/js-core buildURL: one URL per parameter set ------------------------------------
const imgix = new ImgixClient({ domain: CUSTOM_DOMAIN });
const imgixShared = new ImgixClient({ domain: SHARED_HOST });
const JPEG = 'image/jpeg';
const buildUrlCases = [
  // [params, browser, type, width, height, original (default landscape), extra headers]
  [{ w: 640 }, 'plain', JPEG, 640, 400],
  [{ w: 400, h: 400, fit: 'crop' }, 'plain', JPEG, 400, 400],
  [{ w: 600, h: 300, fit: 'crop', crop: 'top,left' }, 'plain', JPEG, 600, 300],
  [{ w: 600, h: 300, fit: 'crop', crop: 'entropy' }, 'plain', JPEG, 600, 300],
  [{ w: 640, h: 480, fit: 'fill', bg: 'FFFFFF' }, 'plain', JPEG, 640, 480],
  [{ w: 640, h: 640, fit: 'clip' }, 'plain', JPEG, 640, 400],
  [{ w: 300, h: 500, fit: 'scale' }, 'plain', JPEG, 300, 500],
  [{ w: 400, h: 300, fit: 'max' }, 'plain', JPEG, 400, 250],
  [{ w: 800, auto: 'format' }, 'chrome', 'image/avif', 800, 500],
  [{ w: 800, auto: 'compress,format' }, 'safari14', 'image/webp', 800, 500],
  [{ w: 800, auto: 'format,compress' }, 'plain', JPEG, 800, 500],
  [{ w: 1000, q: 60, fm: 'pjpg' }, 'plain', JPEG, 1000, 625, landscape, {}, { progressive: true }],
  [{ w: 640, fm: 'webp' }, 'chrome', 'image/webp', 640, 400],
  [{ w: 500, fm: 'jpg', q: 85 }, 'chrome', JPEG, 500, 312.5],
  [{ h: 300, fm: 'png' }, 'plain', 'image/png', 480, 300],
  [{ w: 320, dpr: 2 }, 'plain', JPEG, 640, 400],
  [{ w: 640, ch: 'Width,DPR' }, 'plain', JPEG, 1280, 800, landscape, { 'Sec-CH-DPR': '2' }],
  [{ rect: '640,400,1280,800', w: 640 }, 'plain', JPEG, 640, 400],
  [{ w: 600, flip: 'hv', sharp: 40 }, 'plain', JPEG, 600, 375],
  [{ w: 600, blur: 20 }, 'plain', JPEG, 600, 375],
  [{ w: 600, orient: 90 }, 'plain', JPEG, 600, 960, landscape],
  [{ w: 600, auto: 'format' }, 'firefox', 'image/avif', 600, 800, portrait],
  [{ h: 1000, fm: 'webp' }, 'plain', 'image/webp', 750, 1000, portrait],
  [{ w: 300, h: 300, fit: 'crop' }, 'plain', JPEG, 300, 300, portrait],
];
for (const [params, browser, type, width, height, original = landscape, headers, extra] of
     buildUrlCases) {
  add('@imgix/js-core buildURL', imgix.buildURL(original.path, params), browser, type,
      { width, height }, { headers, ...extra });
}
add('@imgix/js-core buildURL',
    imgixShared.buildURL(shared(landscape.path), { w: 480, auto: 'format' }), 'chrome',
    'image/avif', { width: 480, height: 300 });

// ---- @imgix/js-core buildSrcSet: width ladders and a fixed width's dpr ladder --------------
/** A srcset's entries: the URL, and the number and unit of its descriptor (`640w`, `2x`). */
function srcsetEntries(srcset) {
  return srcset.split(/,\s+/).map((entry) => {
    const [url, descriptor] = entry.split(' ');
    return { url, n: Number(descriptor.slice(0, -1)), unit: descriptor.slice(-1) };
  });
}

/** Each srcset entry as a case: `640w` is that width, `2x` that dpr of `params`' box. */
function addSrcSet(client, original, path, params, options, browser) {
  for (const { url, n, unit } of srcsetEntries(client.buildSrcSet(path, params, options))) {
    const box = unit === 'w' ? { w: n } : { ...params, dpr: n };
    const type = params.fm === 'webp' ? 'image/webp' : NEGOTIATED[browser];
    add('@imgix/js-core buildSrcSet', url, browser, type, scaleDown(original, box));
  }
}
addSrcSet(imgix, landscape, landscape.path, { auto: 'format' }, { widths: [320, 640, 960, 1280] },
          'safari17');
addSrcSet(imgix, landscape, landscape.path, { auto: 'format' },
          { widthTolerance: 0.2, minWidth: 200, maxWidth: 2000 }, 'safari14');
// A fixed width gives a dpr ladder with imgix's variable quality (q=75 … 23), as react-imgix
// does for an <Imgix width={400}>. The library's default ladder goes to 5x, over our dpr range
// (1..4, docs/compat.md); `devicePixelRatios` is its documented way to stop at 4x.
const UP_TO_4X = { devicePixelRatios: [1, 2, 3, 4] };
addSrcSet(imgix, landscape, landscape.path, { w: 400, auto: 'format' }, UP_TO_4X, 'safari14');
addSrcSet(imgixShared, portrait, shared(portrait.path), { h: 400, auto: 'format' }, UP_TO_4X,
          'plain');

// ---- Next.js's built-in imgix loader (loader: 'imgix', path: the CDN) ----------------------
// (AVIF for the small widths only: a 2560-wide AVIF takes ~10 s to encode on a loaded machine.)
const nextOnSite = { path: `https://${CUSTOM_DOMAIN}/` };
for (const width of NEXT_DEVICE_SIZES) {
  add('Next.js imgix loader',
      nextImgixLoader({ config: nextOnSite, src: `/${landscape.path}`, width, quality: 75 }),
      'safari14', 'image/webp', scaleDown(landscape, { w: width }));
}
const nextOnShared = { path: `https://${SHARED_HOST}/${server.publicKey}/` };
for (const width of [256, 384, 640]) {
  add('Next.js imgix loader', nextImgixLoader({ config: nextOnShared, src: portrait.path, width }),
      'chrome', 'image/avif', scaleDown(portrait, { w: width }));
}
// A src with its own `auto` keeps it instead of `format`: the original's format is served.
add('Next.js imgix loader',
    nextImgixLoader({ config: nextOnSite, src: `/${landscape.path}?auto=compress`, width: 828 }),
    'chrome', JPEG, scaleDown(landscape, { w: 828 }));

// ---- Cloudflare's Next.js loader: /cdn-cgi/image/<options>/<src> on the site's own host ------
const onSite = (relative) => new URL(relative, `https://${CUSTOM_DOMAIN}`).href;
for (const width of NEXT_DEVICE_SIZES) {
  add('Cloudflare Next.js loader',
      onSite(cloudflareLoader({ src: `/${landscape.path}`, width, quality: 75 })),
      'chrome', JPEG, scaleDown(landscape, { w: width }));
}
for (const width of [640, 1080]) {
  add('Cloudflare Next.js loader',
      new URL(cloudflareLoader({ src: `/${shared(portrait.path)}`, width }),
              `https://${SHARED_HOST}`).href,
      'firefox', JPEG, scaleDown(portrait, { w: width }));
}
add('Cloudflare Next.js loader',
    onSite(cloudflareLoader({ src: `/${landscape.path}`, width: 750, quality: 75,
                              development: true })),
    'chrome', JPEG, scaleDown(landscape, { w: 750 }));

// ---- Fetch each one ----------------------------------------------------------------------
/** The request a browser makes for `url` once its host points at the test server. */
function requestFor(url, browser, headers) {
  const u = new URL(url);
  assert.equal(u.protocol, 'https:');
  const host = u.host === CUSTOM_DOMAIN ? CUSTOM_DOMAIN : `127.0.0.1:${server.port}`;
  return { target: u.pathname + u.search,
           headers: { Host: host, Accept: ACCEPT[browser], ...headers } };
}

/** The MIME type of the bytes, from sharp's reading of them (AVIF is HEIF with AV1). */
function mimeOf(metadata) {
  return metadata.format === 'heif' && metadata.compression === 'av1'
    ? 'image/avif' : `image/${metadata.format}`;
}

const fetched = new Map();
describe('URLs built by client libraries answer the image they ask for', () => {
  for (const c of cases) {
    const { target, headers } = requestFor(c.url, c.accept, c.headers);
    test(`${c.source}: ${target} (Accept of ${c.accept})`, async () => {
      const res = await get(server.port, target, headers);
      assert.equal(res.status, 200, res.body.toString().slice(0, 300));
      assert.equal(res.headers['content-type'], c.type);
      const metadata = await sharp(res.body).metadata();
      assert.equal(mimeOf(metadata), c.type, 'Content-Type matches the bytes');
      assert.equal(metadata.orientation ?? 1, 1, 'served upright, without an EXIF rotation');
      assert.ok(Math.abs(metadata.width - c.width) < 1, `width ${metadata.width}, want ${c.width}`);
      assert.ok(Math.abs(metadata.height - c.height) < 1,
                `height ${metadata.height}, want ${c.height}`);
      if (c.progressive) {
        assert.equal(metadata.isProgressive, true, 'progressive JPEG');
      }
      fetched.set(c.source, (fetched.get(c.source) ?? 0) + 1);
    });
  }
});

// What the libraries build by default past our documented limits (docs/compat.md): the answer
// is the documented error, so a site learns which option to set.
describe('library defaults past our limits answer the documented error', () => {
  const expectError = async (url, code) => {
    const { target, headers } = requestFor(url, 'chrome');
    const res = await get(server.port, target, headers);
    assert.equal(res.status, 400, target);
    assert.equal(JSON.parse(res.body).error.code, code, target);
  };
  test('buildSrcSet with a fixed width: the 5x entry (dpr=5)', async () => {
    const entries = srcsetEntries(imgix.buildSrcSet(landscape.path, { w: 400 }));
    const fiveX = entries.filter(({ n, unit }) => unit === 'x' && n === 5);
    assert.equal(fiveX.length, 1);
    await expectError(fiveX[0].url, 'invalid_parameter');
  });
  test('buildSrcSet without maxWidth: the widths over the pro plan\'s maximum', async () => {
    const entries = srcsetEntries(imgix.buildSrcSet(landscape.path, { auto: 'format' }));
    const over = entries.filter(({ n, unit }) => unit === 'w' && n > PRO_MAX_DIMENSION);
    assert.ok(over.length > 0);
    for (const { url } of over) {
      await expectError(url, 'dimension_too_large');
    }
  });
});

after(async () => {
  const total = [...fetched.values()].reduce((a, b) => a + b, 0);
  const by = [...fetched].map(([source, n]) => `${source} ${n}`).join(', ');
  console.log(`compat: ${total} of ${cases.length} library-built URLs fetched with 200, the ` +
              `right Content-Type and dimensions (${by})`);
  await server.stop();
});
