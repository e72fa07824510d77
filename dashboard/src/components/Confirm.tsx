// Every destructive action asks first: `const confirm = useConfirm(); if (await confirm({...}))`.
// A native modal <dialog>: focus moves into it, Escape cancels, the page behind is inert.
import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface ConfirmOptions {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
}

type ConfirmFn = (options: ConfirmOptions) => Promise<boolean>;

const ConfirmContext = createContext<ConfirmFn>(async () => false);

export function useConfirm(): ConfirmFn {
  return useContext(ConfirmContext);
}

export function ConfirmProvider({ children }: { children: ReactNode }) {
  const [request, setRequest] = useState<(ConfirmOptions & { resolve: (ok: boolean) => void }) | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();

  const confirm = useCallback<ConfirmFn>(
    (options) => new Promise<boolean>((resolve) => setRequest({ ...options, resolve })),
    [],
  );

  useEffect(() => {
    const d = dialog.current;
    if (request && d && !d.open) {
      d.showModal();
      // The safe choice has the focus.
      cancelButton.current?.focus();
    }
  }, [request]);

  const finish = (ok: boolean) => {
    const r = request;
    setRequest(null);
    dialog.current?.close();
    r?.resolve(ok);
  };

  return (
    <ConfirmContext.Provider value={confirm}>
      {children}
      <dialog
        ref={dialog}
        className="confirm-dialog"
        aria-labelledby={titleId}
        aria-describedby={bodyId}
        onCancel={(e) => {
          e.preventDefault();
          finish(false);
        }}
      >
        {request && (
          <div className="dialog-body">
            <h2 id={titleId}>{request.title}</h2>
            <div id={bodyId} className="muted" style={{ marginTop: '0.6rem' }}>{request.message}</div>
            <div className="dialog-actions">
              <button ref={cancelButton} type="button" className="btn" onClick={() => finish(false)}>
                Cancel
              </button>
              <button
                type="button"
                className={request.danger === false ? 'btn btn-primary' : 'btn btn-danger'}
                onClick={() => finish(true)}
              >
                {request.confirmLabel}
              </button>
            </div>
          </div>
        )}
      </dialog>
    </ConfirmContext.Provider>
  );
}
