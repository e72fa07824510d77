// A queue of file uploads run a few at a time, each with its own progress and error.

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'error' | 'cancelled';

export interface UploadItem {
  id: string;
  name: string;
  path: string;
  size: number;
  status: UploadStatus;
  loaded: number;
  /** 0..100 */
  percent: number;
  error?: string;
  errorCode?: string;
}

export interface UploadJob {
  item: UploadItem;
  file: Blob;
}

export type Uploader = (
  job: UploadJob,
  onProgress: (loaded: number, total: number) => void,
  signal: AbortSignal,
) => Promise<void>;

export interface UploadQueueOptions {
  concurrency: number;
  upload: Uploader;
  /** Called with a new array whenever any item changes. */
  onChange?: (items: UploadItem[]) => void;
  /** Called when one file has landed (to refresh the listing as each file lands). */
  onUploaded?: (item: UploadItem) => void;
  /** Maps a failure to the message (and code) shown next to the file. */
  describe?: (error: unknown) => { message: string; code?: string };
}

let nextId = 0;

export class UploadQueue {
  private list: UploadItem[] = [];
  private readonly files = new Map<string, Blob>();
  private readonly controllers = new Map<string, AbortController>();
  private running = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: UploadQueueOptions) {
    if (options.concurrency < 1) throw new Error('concurrency must be at least 1');
  }

  get items(): UploadItem[] {
    return this.list;
  }

  get active(): number {
    return this.running;
  }

  /** Queues files; returns their items. */
  add(entries: { file: Blob; name: string; path: string }[]): UploadItem[] {
    const added = entries.map(({ file, name, path }) => {
      const item: UploadItem = {
        id: `u${++nextId}`, name, path, size: file.size, status: 'queued', loaded: 0, percent: 0,
      };
      this.files.set(item.id, file);
      return item;
    });
    this.list = [...this.list, ...added];
    this.changed();
    this.pump();
    return added;
  }

  cancel(id: string): void {
    const item = this.find(id);
    if (!item) return;
    if (item.status === 'queued') {
      this.update(id, { status: 'cancelled' });
      this.files.delete(id);
      this.settle();
    } else if (item.status === 'uploading') {
      this.controllers.get(id)?.abort();
    }
  }

  /** Drops finished, failed and cancelled items from the list. */
  clearFinished(): void {
    this.list = this.list.filter((i) => i.status === 'queued' || i.status === 'uploading');
    this.changed();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.running === 0 && !this.list.some((i) => i.status === 'queued');
  }

  private find(id: string): UploadItem | undefined {
    return this.list.find((i) => i.id === id);
  }

  private update(id: string, patch: Partial<UploadItem>): UploadItem | undefined {
    let updated: UploadItem | undefined;
    this.list = this.list.map((i) => (i.id === id ? (updated = { ...i, ...patch }) : i));
    this.changed();
    return updated;
  }

  private changed(): void {
    this.options.onChange?.(this.list);
  }

  private pump(): void {
    while (this.running < this.options.concurrency) {
      const next = this.list.find((i) => i.status === 'queued');
      if (!next) break;
      void this.run(next);
    }
    this.settle();
  }

  private settle(): void {
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(item: UploadItem): Promise<void> {
    const file = this.files.get(item.id);
    if (!file) return;
    this.running++;
    const controller = new AbortController();
    this.controllers.set(item.id, controller);
    const started = this.update(item.id, { status: 'uploading', loaded: 0, percent: 0 }) ?? item;
    try {
      await this.options.upload({ item: started, file }, (loaded, total) => {
        const percent = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
        this.update(item.id, { loaded, percent });
      }, controller.signal);
      const done = this.update(item.id, { status: 'done', loaded: item.size, percent: 100 });
      if (done) this.options.onUploaded?.(done);
    } catch (error) {
      if (controller.signal.aborted) {
        this.update(item.id, { status: 'cancelled' });
      } else {
        const d = this.options.describe?.(error) ?? { message: error instanceof Error ? error.message : String(error) };
        this.update(item.id, { status: 'error', error: d.message, errorCode: d.code });
      }
    } finally {
      this.running--;
      this.controllers.delete(item.id);
      this.files.delete(item.id);
      this.pump();
    }
  }
}

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif',
  gif: 'image/gif', heic: 'image/heic', heif: 'image/heif', jxl: 'image/jxl', svg: 'image/svg+xml',
  tif: 'image/tiff', tiff: 'image/tiff',
};

/** The content type to announce: the browser's, else from the extension (the server checks the bytes). */
export function contentTypeFor(name: string, browserType: string): string {
  if (browserType) return browserType;
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}

/** Where a dropped file goes: the current folder + its name (a relative path from a folder drop). */
export function uploadPath(prefix: string, name: string): string {
  const clean = name.replace(/\\/g, '/').replace(/^\/+/, '').split('/').filter((s) => s && s !== '.' && s !== '..').join('/');
  return `${prefix}${clean}`;
}
