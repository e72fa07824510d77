// Asks what to do with files whose path already holds an image: replace it, keep both (the new
// file gets a new name) or skip. One question for the whole batch.
import { useEffect, useId, useRef } from 'react';
import type { ConflictChoice } from '../../lib/uploadConflicts';

const SHOWN = 8;

export function ConflictDialog({ paths, total, onChoose }: {
  paths: string[];
  /** How many files the batch has (the others upload whatever the choice). */
  total: number;
  onChoose: (choice: ConflictChoice) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const skip = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) {
      d.showModal();
      skip.current?.focus();
    }
    return () => d?.close();
  }, []);

  const one = paths.length === 1;
  const others = total - paths.length;
  return (
    <dialog
      ref={dialog}
      className="confirm-dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      data-testid="upload-conflict"
      onCancel={(e) => {
        e.preventDefault();
        onChoose('skip');
      }}
    >
      <div className="dialog-body">
        <h2 id={titleId}>{one ? `“${paths[0]}” already exists` : `${paths.length} files already exist`}</h2>
        <div id={bodyId} className="muted" style={{ marginTop: '0.6rem' }}>
          <p>
            Uploading {one ? 'it' : 'them'} again replaces the stored {one ? 'image' : 'images'} and every size made from{' '}
            {one ? 'it' : 'them'}.{others > 0 ? ` The other ${others} ${others === 1 ? 'file uploads' : 'files upload'} either way.` : ''}
          </p>
          {!one && (
            <ul className="conflict-list">
              {paths.slice(0, SHOWN).map((p) => <li key={p}><code>{p}</code></li>)}
              {paths.length > SHOWN && <li>and {paths.length - SHOWN} more</li>}
            </ul>
          )}
        </div>
        <div className="dialog-actions">
          <button ref={skip} type="button" className="btn" onClick={() => onChoose('skip')}>Skip</button>
          <button type="button" className="btn" onClick={() => onChoose('keep-both')}>Keep both</button>
          <button type="button" className="btn btn-danger" onClick={() => onChoose('replace')}>Replace</button>
        </div>
      </div>
    </dialog>
  );
}
