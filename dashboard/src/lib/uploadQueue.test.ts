import { describe, expect, it, vi } from 'vitest';
import { ApiError, describeUploadError } from '../api/errors';
import { UploadQueue, contentTypeFor, uploadPath, type UploadItem, type UploadJob } from './uploadQueue';

function controllable() {
  const pending = new Map<string, { resolve: () => void; reject: (e: unknown) => void; progress: (l: number, t: number) => void }>();
  let running = 0;
  let maxRunning = 0;
  const upload = (job: UploadJob, onProgress: (l: number, t: number) => void, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const done = () => {
        running--;
      };
      signal.addEventListener('abort', () => {
        done();
        reject(new DOMException('aborted', 'AbortError'));
      });
      pending.set(job.item.name, {
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
        progress: onProgress,
      });
    });
  return { upload, pending, max: () => maxRunning };
}

const file = (size: number) => new Blob([new Uint8Array(size)]);
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('UploadQueue', () => {
  it('runs at most `concurrency` uploads at once and finishes them all', async () => {
    const c = controllable();
    const q = new UploadQueue({ concurrency: 3, upload: c.upload });
    q.add(Array.from({ length: 7 }, (_, i) => ({ file: file(10), name: `f${i}`, path: `f${i}` })));
    await tick();
    expect(q.active).toBe(3);
    expect(q.items.filter((i) => i.status === 'uploading').map((i) => i.name)).toEqual(['f0', 'f1', 'f2']);
    for (let i = 0; i < 7; i++) {
      c.pending.get(`f${i}`)?.resolve();
      await tick();
      expect(q.active).toBeLessThanOrEqual(3);
    }
    await q.idle();
    expect(c.max()).toBe(3);
    expect(q.items.every((i) => i.status === 'done' && i.percent === 100)).toBe(true);
  });

  it('reports progress per file', async () => {
    const c = controllable();
    const changes: UploadItem[][] = [];
    const q = new UploadQueue({ concurrency: 3, upload: c.upload, onChange: (items) => changes.push(items) });
    q.add([{ file: file(200), name: 'a', path: 'a' }]);
    await tick();
    c.pending.get('a')?.progress(50, 200);
    expect(q.items[0]).toMatchObject({ status: 'uploading', loaded: 50, percent: 25 });
    c.pending.get('a')?.progress(200, 200);
    expect(q.items[0]?.percent).toBe(100);
    c.pending.get('a')?.resolve();
    await q.idle();
    expect(q.items[0]?.status).toBe('done');
    // Every change gives a new array (React state).
    expect(new Set(changes).size).toBe(changes.length);
  });

  it('a failed file shows the API’s reason and does not stop the others', async () => {
    const c = controllable();
    const uploaded = vi.fn();
    const q = new UploadQueue({ concurrency: 3, upload: c.upload, onUploaded: uploaded, describe: describeUploadError });
    q.add([
      { file: file(1), name: 'good.jpg', path: 'good.jpg' },
      { file: file(1), name: 'text.jpg', path: 'text.jpg' },
      { file: file(1), name: 'big.jpg', path: 'big.jpg' },
      { file: file(1), name: 'full.jpg', path: 'full.jpg' },
    ]);
    await tick();
    c.pending.get('text.jpg')?.reject(new ApiError(415, 'unsupported_media_type', 'the content is not an image'));
    c.pending.get('good.jpg')?.resolve();
    c.pending.get('big.jpg')?.reject(new ApiError(413, 'payload_too_large', 'over 20 MB'));
    await tick();
    c.pending.get('full.jpg')?.reject(new ApiError(402, 'storage_quota_exceeded', 'quota'));
    await q.idle();
    const byName = Object.fromEntries(q.items.map((i) => [i.name, i]));
    expect(byName['good.jpg']?.status).toBe('done');
    expect(byName['text.jpg']).toMatchObject({ status: 'error', errorCode: 'unsupported_media_type' });
    expect(byName['text.jpg']?.error).toMatch(/Not an image/);
    expect(byName['big.jpg']).toMatchObject({ status: 'error', errorCode: 'payload_too_large' });
    expect(byName['full.jpg']).toMatchObject({ status: 'error', errorCode: 'storage_quota_exceeded' });
    // The listing is refreshed as each file lands: once per success.
    expect(uploaded).toHaveBeenCalledTimes(1);
  });

  it('cancels a queued or running upload', async () => {
    const c = controllable();
    const q = new UploadQueue({ concurrency: 1, upload: c.upload });
    const [a, b] = q.add([
      { file: file(1), name: 'a', path: 'a' },
      { file: file(1), name: 'b', path: 'b' },
    ]);
    await tick();
    q.cancel(b!.id);
    q.cancel(a!.id);
    await q.idle();
    expect(q.items.map((i) => i.status)).toEqual(['cancelled', 'cancelled']);
    q.clearFinished();
    expect(q.items).toEqual([]);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => new UploadQueue({ concurrency: 0, upload: async () => {} })).toThrow();
  });
});

describe('upload helpers', () => {
  it('takes the browser’s type, else one from the extension', () => {
    expect(contentTypeFor('a.jpg', 'image/png')).toBe('image/png');
    expect(contentTypeFor('a.JPG', '')).toBe('image/jpeg');
    expect(contentTypeFor('a.heic', '')).toBe('image/heic');
    expect(contentTypeFor('notes.txt', '')).toBe('application/octet-stream');
  });

  it('puts files in the current folder, without unsafe segments', () => {
    expect(uploadPath('products/', 'shoe.jpg')).toBe('products/shoe.jpg');
    expect(uploadPath('', 'shoe.jpg')).toBe('shoe.jpg');
    expect(uploadPath('a/', '../../etc/x.jpg')).toBe('a/etc/x.jpg');
    expect(uploadPath('a/', 'dir\\sub\\x.jpg')).toBe('a/dir/sub/x.jpg');
  });
});
