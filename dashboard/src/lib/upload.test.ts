import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The API client, replaced: what uploadToCdn asks of the API is the test.
const post = vi.fn();
vi.mock('../api/client', () => ({
  api: { POST: (...args: unknown[]) => post(...args) },
  call: async (promise: Promise<{ data?: unknown; error?: unknown }>) => {
    const result = await promise;
    if (result.error) throw result.error;
    return result.data;
  },
}));

const { uploadToCdn } = await import('./upload');
import type { UploadItem } from './uploadQueue';

/** XMLHttpRequest as upload.ts uses it: the PUT is recorded and answered with `status`. */
class FakeXhr {
  static sent: FakeXhr[] = [];
  static status = 200;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown = null;
  status = 0;
  responseText = '';
  upload: { onprogress?: (e: { loaded: number; total: number; lengthComputable: boolean }) => void } = {};
  onload?: () => void;
  onerror?: () => void;
  onabort?: () => void;
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getResponseHeader() {
    return null;
  }
  abort() {}
  send(body: Blob) {
    this.body = body;
    FakeXhr.sent.push(this);
    queueMicrotask(() => {
      this.upload.onprogress?.({ loaded: body.size / 2, total: body.size, lengthComputable: true });
      this.status = FakeXhr.status;
      this.onload?.();
    });
  }
}

const S3_URL = 'https://bucket.s3.example.com/_uploads/up_1?X-Amz-Signature=abc';
const item = { id: '1', name: 'logo.png', path: 'brand/logo.png', size: 4 } as UploadItem;

describe('uploadToCdn', () => {
  beforeEach(() => {
    FakeXhr.sent = [];
    FakeXhr.status = 200;
    post.mockReset();
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    vi.stubGlobal('window', { location: { origin: 'http://localhost:8080' } });
    post.mockImplementation(async (path: string) =>
      path === '/api/v1/images/upload-url'
        ? {
            data: {
              url: S3_URL,
              method: 'PUT',
              headers: { 'Content-Type': 'image/png' },
              expires_at: '2026-12-07T10:15:00Z',
              upload_id: 'up_1',
            },
          }
        : { data: { path: 'brand/logo.png' } },
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('PUTs to the bucket with the headers answered, with progress, then completes', async () => {
    const file = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' });
    const progress: number[] = [];
    await uploadToCdn({ item, file }, (loaded) => progress.push(loaded), new AbortController().signal);

    expect(post).toHaveBeenNthCalledWith(
      1,
      '/api/v1/images/upload-url',
      expect.objectContaining({ body: { path: 'brand/logo.png', content_type: 'image/png', size: 4 } }),
    );
    expect(FakeXhr.sent).toHaveLength(1);
    const put = FakeXhr.sent[0]!;
    expect([put.method, put.url, put.headers, put.body]).toEqual(['PUT', S3_URL, { 'Content-Type': 'image/png' }, file]);
    expect(progress).toEqual([2, 4]);
    expect(post).toHaveBeenCalledTimes(2);
    expect(post).toHaveBeenNthCalledWith(
      2,
      '/api/v1/uploads/{upload_id}/complete',
      expect.objectContaining({ params: { path: { upload_id: 'up_1' } } }),
    );
  });

  it('does not complete an upload whose PUT was refused', async () => {
    FakeXhr.status = 403;
    const file = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: 'image/png' });
    await expect(uploadToCdn({ item, file }, () => {}, new AbortController().signal)).rejects.toMatchObject({
      status: 403,
    });
    expect(post).toHaveBeenCalledTimes(1);
  });
});
