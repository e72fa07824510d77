// The detail panel of one image: metadata, URL builder, delete.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { api, call, type Customer, type Image, type Plan } from '../../api/client';
import { errorSentence } from '../../api/errors';
import { keys } from '../../api/queries';
import { useConfirm } from '../../components/Confirm';
import { TrashIcon, XIcon } from '../../components/Icons';
import { ErrorState, Loading } from '../../components/States';
import { useToast } from '../../components/Toasts';
import { formatBytes, formatDateTime } from '../../lib/format';
import { UrlBuilder } from './UrlBuilder';

export function ImageDetail({ path, initial, customer, plans, onClose }: {
  path: string;
  initial?: Image;
  customer: Customer;
  plans: Plan[];
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const toast = useToast();
  const image = useQuery({
    queryKey: keys.image(path),
    queryFn: ({ signal }) => call(api.GET('/api/v1/images/{path}', { params: { path: { path } }, signal })),
    initialData: initial,
    staleTime: initial ? 10_000 : 0,
  });

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  const remove = async () => {
    const ok = await confirm({
      title: 'Delete this image?',
      message: (
        <>
          <strong className="break">{path}</strong> and every cached size of it will be deleted. URLs that use it will answer 404.
          This cannot be undone.
        </>
      ),
      confirmLabel: 'Delete image',
    });
    if (!ok) return;
    try {
      await call(api.DELETE('/api/v1/images/{path}', { params: { path: { path } } }));
      toast(`Deleted ${path}`);
      await queryClient.invalidateQueries({ queryKey: ['images'] });
      void queryClient.invalidateQueries({ queryKey: keys.quota });
      onClose();
    } catch (e) {
      toast(errorSentence(e), 'error');
    }
  };

  const img = image.data;
  return (
    <dialog
      ref={dialog}
      className="detail-dialog"
      aria-labelledby="detail-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div className="detail-head">
        <div>
          <h2 id="detail-title">{path}</h2>
          {img && (
            <p className="muted small" style={{ margin: '0.2rem 0 0' }}>
              {img.width && img.height ? `${img.width} × ${img.height} px · ` : ''}{formatBytes(img.size)} · {img.format.toUpperCase()}
            </p>
          )}
        </div>
        <button type="button" className="btn btn-sm" onClick={onClose} aria-label="Close the image details">
          <XIcon /> Close
        </button>
      </div>
      {image.isPending && <Loading />}
      {image.isError && <ErrorState error={image.error} onRetry={() => image.refetch()} />}
      {img && (
        <div className="detail-grid">
          <section aria-label="URL builder">
            <h3 style={{ marginBottom: '0.75rem' }}>URL builder</h3>
            <UrlBuilder image={img} customer={customer} plans={plans} />
          </section>
          <section aria-label="Details">
            <h3>Details</h3>
            <dl className="meta-list">
              <dt>Path</dt><dd>{img.path}</dd>
              <dt>Dimensions</dt><dd>{img.width && img.height ? `${img.width} × ${img.height} px` : '—'}</dd>
              <dt>Size</dt><dd>{formatBytes(img.size)} ({img.size.toLocaleString('en-US')} bytes)</dd>
              <dt>Format</dt><dd>{img.format}{img.content_type ? ` (${img.content_type})` : ''}</dd>
              <dt>Uploaded</dt><dd>{formatDateTime(img.created_at)}</dd>
              <dt>Updated</dt><dd>{formatDateTime(img.updated_at)}</dd>
              <dt>ETag</dt><dd><code>{img.etag}</code></dd>
            </dl>
            <hr className="divider" />
            <h3>Danger zone</h3>
            <p className="muted small" style={{ marginTop: '0.4rem' }}>Deleting removes the original and purges its cached variants.</p>
            <button type="button" className="btn btn-danger-outline" onClick={remove}>
              <TrashIcon /> Delete image
            </button>
          </section>
        </div>
      )}
    </dialog>
  );
}
