// Drag-and-drop and file-picker upload of many files: presigned URL, then a PUT with progress,
// three at a time, each with its own bar and error.
import { useId, useState, type DragEvent } from 'react';
import { ProgressBar } from '../../components/Bars';
import { UploadIcon, XIcon } from '../../components/Icons';
import { formatBytes } from '../../lib/format';
import { findConflicts, resolveConflicts, type ConflictChoice, type UploadEntry } from '../../lib/uploadConflicts';
import { uploadPath } from '../../lib/uploadQueue';
import { uploads as queue, useUploads } from '../../lib/uploads';
import { ConflictDialog } from './ConflictDialog';

export function Uploader({ prefix }: { prefix: string }) {
  const items = useUploads();
  const [dragging, setDragging] = useState(false);
  const inputId = useId();

  const [conflict, setConflict] = useState<{ fresh: UploadEntry[]; existing: UploadEntry[] } | null>(null);
  const [checking, setChecking] = useState(false);

  // Files whose path holds an image already wait for the customer's choice; the others go at once.
  const add = async (files: FileList | File[] | null) => {
    if (!files || files.length === 0) return;
    const entries = Array.from(files).map((file) => ({
      file,
      name: file.name,
      path: uploadPath(prefix, (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name),
    }));
    setChecking(true);
    const found = await findConflicts(entries);
    setChecking(false);
    if (found.existing.length === 0) queue.add(found.fresh);
    else setConflict(found);
  };

  const choose = async (choice: ConflictChoice) => {
    if (!conflict) return;
    setConflict(null);
    const entries = await resolveConflicts(conflict.fresh, conflict.existing, choice);
    if (entries.length > 0) queue.add(entries);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void add(e.dataTransfer.files);
  };

  const active = items.filter((i) => i.status === 'queued' || i.status === 'uploading').length;
  const finished = items.length - active;
  const done = items.filter((i) => i.status === 'done').length;
  const failed = items.filter((i) => i.status === 'error').length;

  return (
    <section aria-label="Upload images">
      <div
        className={`dropzone ${dragging ? 'dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <UploadIcon />
        <span>
          Drag images here to upload them to <strong>{prefix ? prefix : 'the top folder'}</strong>, or
        </span>
        <label htmlFor={inputId} className="btn btn-primary">Choose files</label>
        <input
          id={inputId}
          className="visually-hidden"
          type="file"
          multiple
          accept="image/*,.heic,.heif,.jxl,.avif"
          onChange={(e) => {
            void add(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
      </div>
      {checking && <p className="muted small" role="status">Checking for images with the same names…</p>}
      {conflict && (
        <ConflictDialog
          paths={conflict.existing.map((e) => e.path)}
          total={conflict.fresh.length + conflict.existing.length}
          onChoose={(c) => void choose(c)}
        />
      )}
      {items.length > 0 && (
        <div className="card uploads">
          <div className="card-header">
            <h2>Uploads</h2>
            <div className="row">
              <span className="muted small" aria-live="polite">
                {active > 0 ? `${active} uploading or waiting · ` : ''}
                {done} done{failed ? ` · ${failed} failed` : ''}
              </span>
              {finished > 0 && (
                <button type="button" className="btn btn-sm" onClick={() => queue.clearFinished()}>
                  Clear finished
                </button>
              )}
            </div>
          </div>
          <ul className="upload-list">
            {items.map((item) => (
              <li key={item.id} className="upload-item" data-status={item.status} data-testid="upload-item">
                <span className="name">{item.path}</span>
                <span className="row small">
                  <span className="muted">
                    {item.status === 'uploading' && `${item.percent}% of ${formatBytes(item.size)}`}
                    {item.status === 'queued' && `Waiting · ${formatBytes(item.size)}`}
                    {item.status === 'done' && `Uploaded · ${formatBytes(item.size)}`}
                    {item.status === 'cancelled' && 'Cancelled'}
                    {item.status === 'error' && 'Failed'}
                  </span>
                  {(item.status === 'uploading' || item.status === 'queued') && (
                    <button
                      type="button"
                      className="btn btn-sm btn-ghost"
                      aria-label={`Cancel the upload of ${item.name}`}
                      onClick={() => queue.cancel(item.id)}
                    >
                      <XIcon />
                    </button>
                  )}
                </span>
                <ProgressBar
                  percent={item.status === 'error' ? 100 : item.percent}
                  label={`Upload of ${item.name}`}
                  tone={item.status === 'done' ? 'done' : item.status === 'error' ? 'error' : undefined}
                />
                {item.status === 'error' && (
                  <span className="upload-error" role="alert">
                    {item.error}
                    {item.errorCode && (
                      <details className="error-details">
                        <summary>Details</summary>
                        Error code <code>{item.errorCode}</code>
                      </details>
                    )}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
