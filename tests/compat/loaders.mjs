// The URL shapes of two Next.js image loaders, written here because neither can be imported:
// Next.js keeps its imgix loader private to a React component module of a ~100 MB package,
// and Cloudflare's loader exists only as a snippet in Cloudflare's documentation. Each
// function builds exactly the URL its source builds; the comment says where that is.

const withoutLeadingSlash = (src) => (src.startsWith('/') ? src.slice(1) : src);

/**
 * Next.js's built-in imgix loader (`images: { loader: 'imgix', path }` in next.config.js):
 * vercel/next.js, packages/next/src/client/legacy/image.tsx, function `imgixLoader` (read at
 * commit 016c20990b9b8dd94c9526a010dd33ae4490a383). It parses `${config.path}${src}` (src
 * without its leading '/') as a URL and sets, through URLSearchParams: `auto` to the `auto`
 * values already in src joined by ',' or else `format`; `fit` to src's or `max`; `w` to src's
 * or the width asked for; and `q` when a quality is given. Widths come from the config's
 * `deviceSizes` (and `imageSizes`); the defaults are NEXT_DEVICE_SIZES.
 */
export function nextImgixLoader({ config, src, width, quality }) {
  const url = new URL(`${config.path}${withoutLeadingSlash(src)}`);
  const params = url.searchParams;
  params.set('auto', params.getAll('auto').join(',') || 'format');
  params.set('fit', params.get('fit') || 'max');
  params.set('w', params.get('w') || String(width));
  if (quality) {
    params.set('q', String(quality));
  }
  return url.href;
}

/** `imageConfigDefault.deviceSizes` in vercel/next.js packages/next/src/shared/lib/image-config.ts
 *  (commit 6a377c0af45a968e1fdbb50e36ac618f0a168bf9). */
export const NEXT_DEVICE_SIZES = [640, 750, 828, 1080, 1200, 1920, 2048, 3840];

/**
 * Cloudflare's Next.js loader, from "Integrate with frameworks" (Next.js, Global Loader,
 * imageLoader.ts):
 * https://developers.cloudflare.com/images/optimization/transformations/integrate-with-frameworks/
 * Options `width=${width}`, then `quality=${quality}` when given, joined by ',' into
 * `/cdn-cgi/image/${options}/${src without its leading '/'}`, a path on the site's own host.
 * With `development`, the documented loader answers `${src}?${options joined by '&'}` instead
 * (the query form, for `next dev` without Cloudflare in front).
 */
export function cloudflareLoader({ src, width, quality, development = false }) {
  const params = [`width=${width}`];
  if (quality) {
    params.push(`quality=${quality}`);
  }
  if (development) {
    return `${src}?${params.join('&')}`;
  }
  return `/cdn-cgi/image/${params.join(',')}/${withoutLeadingSlash(src)}`;
}
