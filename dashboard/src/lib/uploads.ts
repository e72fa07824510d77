// The app's one upload queue: uploads go on while the customer looks at another page, and end
// with the session.
import { useSyncExternalStore } from 'react';
import { describeUploadError } from '../api/errors';
import { queryClient } from '../api/queryClient';
import { uploadToCdn } from './upload';
import { UploadQueue, type UploadItem } from './uploadQueue';

export const UPLOAD_CONCURRENCY = 3;

const listeners = new Set<() => void>();
let snapshot: UploadItem[] = [];

export const uploads = new UploadQueue({
  concurrency: UPLOAD_CONCURRENCY,
  upload: uploadToCdn,
  describe: describeUploadError,
  onChange: (items) => {
    snapshot = items;
    for (const l of listeners) l();
  },
  // The listing refreshes as each file lands, not when the batch ends.
  onUploaded: () => {
    void queryClient.invalidateQueries({ queryKey: ['images'] });
    void queryClient.invalidateQueries({ queryKey: ['quota'] });
  },
});

export function useUploads(): UploadItem[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => snapshot,
  );
}

/** On logout: stop what is running and forget the list. */
export function resetUploads(): void {
  for (const item of uploads.items) uploads.cancel(item.id);
  void uploads.idle().then(() => uploads.clearFinished());
}
