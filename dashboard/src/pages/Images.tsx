import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, call } from '../api/client';
import { keys, useCustomer, usePlans } from '../api/queries';
import { FolderIcon, ImageIcon } from '../components/Icons';
import { PageHeader } from '../components/Page';
import { EmptyState, ErrorState, Loading } from '../components/States';
import { formatBytes } from '../lib/format';
import { useDeliveryUrl } from '../lib/useDeliveryUrl';
import { splitListing } from '../lib/listing';
import { TemplateUrl } from '../components/TemplateUrl';
import { ImageDetail } from './images/ImageDetail';
import { Uploader } from './images/Uploader';

const PAGE_SIZE = 60;

function Thumb({ publicKey, path, requireSigned, presetsOnly }: {
  publicKey: string;
  path: string;
  requireSigned: boolean;
  presetsOnly: boolean;
}) {
  // Thumbnails go through the edge at 240 px, and 480 px for 2× screens; with presets-only, the
  // original is what may be served.
  const { url } = useDeliveryUrl(publicKey, path, presetsOnly ? '' : 'w=240', requireSigned);
  const { url: sharp } = useDeliveryUrl(publicKey, path, 'w=480', requireSigned, !presetsOnly);
  const [failed, setFailed] = useState(false);
  if (!url || failed) return <ImageIcon />;
  return (
    <img
      src={url}
      srcSet={sharp && !presetsOnly ? `${url} 1x, ${sharp} 2x` : undefined}
      alt=""
      loading="lazy"
      decoding="async"
      // No Referer: the customer's allowed_domains must not hide their own images from them.
      referrerPolicy="no-referrer"
      width={240}
      height={180}
      onError={() => setFailed(true)}
    />
  );
}

export default function Images() {
  const [params, setParams] = useSearchParams();
  const prefix = params.get('prefix') ?? '';
  const selected = params.get('path');
  const customer = useCustomer();
  const plans = usePlans();

  const listing = useInfiniteQuery({
    queryKey: keys.images(prefix),
    queryFn: ({ pageParam, signal }) =>
      call(
        api.GET('/api/v1/images', {
          params: { query: { prefix: prefix || undefined, cursor: pageParam || undefined, limit: PAGE_SIZE } },
          signal,
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  const all = useMemo(() => listing.data?.pages.flatMap((p) => p.items) ?? [], [listing.data]);
  const { folders, images } = useMemo(() => splitListing(prefix, all), [prefix, all]);

  const go = (next: { prefix?: string; path?: string | null }) => {
    const p = new URLSearchParams(params);
    if (next.prefix !== undefined) {
      if (next.prefix) p.set('prefix', next.prefix);
      else p.delete('prefix');
    }
    if (next.path === null) p.delete('path');
    else if (next.path) p.set('path', next.path);
    setParams(p);
  };

  const crumbs = prefix.split('/').filter(Boolean);
  const c = customer.data;

  return (
    <>
      <PageHeader title="Images" description="Your originals. Every size and format is made from them on request." />

      <nav aria-label="Folder" className="card" style={{ padding: '0.75rem 1rem', marginBottom: '1rem' }}>
        <ol className="breadcrumbs">
          <li>
            {prefix ? <Link to="/images">All images</Link> : <span aria-current="page">All images</span>}
          </li>
          {crumbs.map((name, i) => {
            const to = `${crumbs.slice(0, i + 1).join('/')}/`;
            const last = i === crumbs.length - 1;
            return (
              <li key={to}>
                {last ? <span aria-current="page">{name}</span> : <Link to={`/images?prefix=${encodeURIComponent(to)}`}>{name}</Link>}
              </li>
            );
          })}
        </ol>
      </nav>

      <Uploader prefix={prefix} />

      <section aria-labelledby="listing-title" style={{ marginTop: '1.25rem' }}>
        <h2 id="listing-title" className="visually-hidden">Images in this folder</h2>
        {(listing.isPending || customer.isPending) && <Loading label="Loading images…" />}
        {listing.isError && <ErrorState error={listing.error} onRetry={() => listing.refetch()} />}
        {customer.isError && <ErrorState error={customer.error} onRetry={() => customer.refetch()} />}
        {listing.data && c && folders.length === 0 && images.length === 0 && (
          <div className="card">
            <EmptyState icon={<ImageIcon />} title={prefix ? 'This folder is empty' : 'No images yet'}>
              Drop images above or use <strong>Choose files</strong>. Each one is then served at{' '}
              <code>/{c.public_key}/{prefix}name.jpg</code>.
            </EmptyState>
            {!prefix && <TemplateUrl publicKey={c.public_key} />}
          </div>
        )}
        {listing.data && c && (folders.length > 0 || images.length > 0) && (
          <ul className="image-grid" data-testid="image-grid">
            {folders.map((f) => (
              <li key={f}>
                <Link className="tile folder" to={`/images?prefix=${encodeURIComponent(f)}`}>
                  <span className="thumb"><FolderIcon /></span>
                  <span className="meta">
                    <span className="title" style={{ display: 'block' }}>{f.slice(prefix.length, -1)}</span>
                    <span className="sub">Folder</span>
                  </span>
                </Link>
              </li>
            ))}
            {images.map((img) => (
              <li key={img.path}>
                <button
                  type="button"
                  className="tile"
                  onClick={() => go({ path: img.path })}
                  data-path={img.path}
                >
                  <span className="thumb">
                    <Thumb
                      publicKey={c.public_key}
                      path={img.path}
                      requireSigned={Boolean(c.settings.require_signed_urls)}
                      presetsOnly={Boolean(c.settings.presets_only)}
                    />
                  </span>
                  <span className="meta">
                    <span className="title" style={{ display: 'block' }}>{img.path.slice(prefix.length)}</span>
                    <span className="sub">
                      {img.width && img.height ? `${img.width} × ${img.height}` : img.format} · {formatBytes(img.size)}
                    </span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {listing.hasNextPage && (
          <div className="row" style={{ justifyContent: 'center', marginTop: '1.25rem' }}>
            <button type="button" className="btn" onClick={() => listing.fetchNextPage()} disabled={listing.isFetchingNextPage}>
              {listing.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </section>

      {selected && c && (
        <ImageDetail
          key={selected}
          path={selected}
          initial={all.find((i) => i.path === selected)}
          customer={c}
          plans={plans.data ?? []}
          onClose={() => go({ path: null })}
        />
      )}
    </>
  );
}
