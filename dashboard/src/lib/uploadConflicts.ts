// Uploading over an existing path replaces that image: the uploader asks first (replace, keep
// both under a new name, or skip). This is the logic without React.
import { api, call } from '../api/client';
import { ApiError } from '../api/errors';

export interface UploadEntry {
  file: Blob;
  name: string;
  path: string;
}

export type ConflictChoice = 'replace' | 'keep-both' | 'skip';

/** Whether an original is stored at `path` (GET /images/{path}: 404 = no). Any other failure
 *  counts as "no": the upload itself then reports what is wrong. */
export async function imageExists(path: string): Promise<boolean> {
  try {
    await call(api.GET('/api/v1/images/{path}', { params: { path: { path } } }));
    return true;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) console.info('existence check failed', e);
    return false;
  }
}

/** Splits a batch into the files whose path is free and those that would replace an image. */
export async function findConflicts(entries: UploadEntry[], exists = imageExists) {
  const taken = await Promise.all(entries.map((e) => exists(e.path)));
  return {
    fresh: entries.filter((_, i) => !taken[i]),
    existing: entries.filter((_, i) => taken[i]),
  };
}

/** "a/photo.jpg" → "a/photo-2.jpg" (then -3, ...): the first name neither stored nor `reserved`. */
export async function freePath(path: string, reserved: Set<string>, exists = imageExists): Promise<string> {
  const slash = path.lastIndexOf('/') + 1;
  const dot = path.lastIndexOf('.');
  const [stem, ext] = dot > slash ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!reserved.has(candidate) && !(await exists(candidate))) return candidate;
  }
}

/** The entries to upload once the customer chose what to do with those that exist. */
export async function resolveConflicts(
  fresh: UploadEntry[],
  existing: UploadEntry[],
  choice: ConflictChoice,
  exists = imageExists,
): Promise<UploadEntry[]> {
  if (choice === 'skip') return fresh;
  if (choice === 'replace') return [...fresh, ...existing];
  const reserved = new Set(fresh.map((e) => e.path));
  const renamed: UploadEntry[] = [];
  for (const entry of existing) {
    const path = await freePath(entry.path, reserved, exists);
    reserved.add(path);
    renamed.push({ ...entry, path });
  }
  return [...fresh, ...renamed];
}
