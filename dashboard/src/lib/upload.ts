// One upload: a presigned URL from the API, then a PUT of the bytes with XHR (fetch has no
// upload progress), sending exactly the headers the API returned, then the completion. With
// the local store the URL is on this server; with an S3 store it is on the bucket itself
// (whose CORS must let the dashboard's origin PUT: docs/operations.md), and the object is
// neither listed nor served until `complete` has checked it. The browser sets Content-Length
// from the file, which is the size the URL was signed for.
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';
import type { Uploader } from './uploadQueue';
import { contentTypeFor } from './uploadQueue';

/** The local store's upload URLs point at this server (public_base_url); use the page's origin
 *  for them so a dashboard opened as localhost still uploads same-origin. */
export function sameOriginUploadUrl(url: string, here: string): string {
  try {
    const u = new URL(url, here);
    if (u.pathname.startsWith('/api/v1/uploads/')) return `${u.pathname}${u.search}`;
    return u.toString();
  } catch {
    return url;
  }
}

export function putWithProgress(
  url: string,
  file: Blob,
  headers: Record<string, string>,
  onProgress: (loaded: number, total: number) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve();
        return;
      }
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON
      }
      reject(ApiError.from(xhr.status, body, xhr.getResponseHeader('Retry-After')));
    };
    xhr.onerror = () => reject(ApiError.network());
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

export const uploadToCdn: Uploader = async ({ item, file }, onProgress, signal) => {
  const contentType = contentTypeFor(item.name, file.type);
  const target = await call(
    api.POST('/api/v1/images/upload-url', {
      body: { path: item.path, content_type: contentType, size: file.size },
      signal,
    }),
  );
  await putWithProgress(sameOriginUploadUrl(target.url, window.location.origin), file, target.headers, onProgress, signal);
  await call(
    api.POST('/api/v1/uploads/{upload_id}/complete', {
      params: { path: { upload_id: target.upload_id } },
      signal,
    }),
  );
};
