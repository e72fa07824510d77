import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, call } from '../api/client';
import { keys, useCustomer, useQuota } from '../api/queries';
import { QuotaBar } from '../components/Bars';
import { CopyButton, CopyField } from '../components/CopyButton';
import { ImageIcon } from '../components/Icons';
import { PageHeader } from '../components/Page';
import { Alert, EmptyState, ErrorState, Loading } from '../components/States';
import { TemplateUrl } from '../components/TemplateUrl';
import { formatBytes, formatDate, formatNumber, formatPercent, isoDay } from '../lib/format';
import { planLabel } from '../lib/plans';
import { edgeOrigin, useDeliveryUrl } from '../lib/useDeliveryUrl';
import { srcsetSnippet } from '../lib/urlBuilder';

export default function Overview() {
  const customer = useCustomer();
  const quota = useQuota();
  // The calendar month (UTC), known without waiting for the quota.
  const now = new Date();
  const periodStart = `${isoDay(now).slice(0, 8)}01`;
  const today = isoDay(now);
  const month = useQuery({
    queryKey: keys.usage(periodStart ?? '', today, 'day'),
    queryFn: ({ signal }) =>
      call(api.GET('/api/v1/usage', { params: { query: { from: periodStart, to: today, granularity: 'day' } }, signal })),
  });
  const firstImage = useQuery({
    queryKey: ['images', 'first'],
    queryFn: ({ signal }) => call(api.GET('/api/v1/images', { params: { query: { limit: 1 } }, signal })),
  });

  const c = customer.data;
  const requireSigned = Boolean(c?.settings.require_signed_urls);
  const example = firstImage.data?.items[0];
  const exampleUrl = useDeliveryUrl(c?.public_key, example?.path, 'w=800&format=auto', requireSigned, Boolean(example));

  if (customer.isPending) return <Loading />;
  if (customer.isError) return <ErrorState error={customer.error} onRetry={() => customer.refetch()} />;
  if (!c) return null;

  const totals = (month.data?.items ?? []).reduce(
    (t, b) => ({ requests: t.requests + b.requests, hits: t.hits + b.cache_hits }),
    { requests: 0, hits: 0 },
  );

  return (
    <>
      <PageHeader title="Overview" description={<>Signed in as <strong>{c.email}</strong></>} />

      {c.notices?.map((n) => (
        <div key={n.setting} style={{ marginBottom: '1.25rem' }}>
          <Alert kind="warning">
            {n.message} <Link to="/settings">Settings</Link>
          </Alert>
        </div>
      ))}

      <div className="grid grid-4" style={{ marginBottom: '1.25rem' }}>
        <div className="card">
          <div className="stat-label">Plan</div>
          <div className="stat-value">{planLabel(c.plan)}</div>
          <div className="row" style={{ marginTop: '0.35rem' }}>
            {c.billing_status === 'past_due' ? (
              <span className="badge badge-danger">Past due</span>
            ) : (
              <span className="badge badge-success">Active</span>
            )}
            <Link to="/billing" className="small">Change plan</Link>
          </div>
        </div>
        <div className="card">
          <div className="stat-label">Requests this month</div>
          <div className="stat-value" data-testid="requests-month">
            {quota.isPending ? '…' : formatNumber(quota.data?.requests ?? totals.requests)}
          </div>
          <div className="stat-sub">Image deliveries through the edge</div>
        </div>
        <div className="card">
          <div className="stat-label">Cache-hit ratio this month</div>
          <div className="stat-value">{month.isPending ? '…' : formatPercent(totals.hits, totals.requests)}</div>
          <div className="stat-sub">{month.isError ? 'Usage could not be loaded' : `${formatNumber(totals.hits)} hits`}</div>
        </div>
        <div className="card">
          <div className="stat-label">Bandwidth this month</div>
          <div className="stat-value">{quota.isPending ? '…' : formatBytes(quota.data?.bandwidth_used ?? 0)}</div>
          <div className="stat-sub">{quota.data ? `of ${formatBytes(quota.data.bandwidth_quota)}` : '\u00a0'}</div>
        </div>
      </div>

      <div className="grid grid-2">
        <section className="card" aria-labelledby="quota-title">
          <div className="card-header">
            <div>
              <h2 id="quota-title">This month’s quotas</h2>
              {quota.data && (
                <p>
                  {formatDate(quota.data.period_start)} – {formatDate(new Date(Date.parse(quota.data.period_end) - 1000).toISOString())} (UTC)
                </p>
              )}
            </div>
            <Link to="/usage" className="btn btn-sm">View usage</Link>
          </div>
          {quota.isPending && <Loading />}
          {quota.isError && <ErrorState error={quota.error} onRetry={() => quota.refetch()} />}
          {quota.data && (
            <>
              <QuotaBar label="Bandwidth" used={quota.data.bandwidth_used} quota={quota.data.bandwidth_quota} />
              <QuotaBar label="Storage" used={quota.data.storage_used} quota={quota.data.storage_quota} />
              {quota.data.bandwidth_used >= quota.data.bandwidth_quota && (
                <Alert kind="warning">
                  You have used this month’s bandwidth.{' '}
                  {c.plan === 'free' ? <>Images are not served until next month: <Link to="/billing">upgrade</Link>.</> : 'Overage is billed.'}
                </Alert>
              )}
            </>
          )}
        </section>

        <section className="card" aria-labelledby="quickstart-title">
          <div className="card-header">
            <div>
              <h2 id="quickstart-title">Quick start</h2>
              <p>Your images are served from <code>{edgeOrigin()}/{c.public_key}/…</code></p>
            </div>
          </div>
          <div className="stack">
            <CopyField id="public-key" label="Public key" value={c.public_key} />
            {firstImage.isPending && <Loading label="Looking for an image…" />}
            {firstImage.isError && <ErrorState error={firstImage.error} onRetry={() => firstImage.refetch()} />}
            {firstImage.data && !example && (
              <>
              <EmptyState
                icon={<ImageIcon />}
                title="No images yet"
                action={<Link to="/images" className="btn btn-primary">Upload your first image</Link>}
              >
                Upload an image, then use its URL with <code>?w=800&amp;format=auto</code> on your site.
              </EmptyState>
              <TemplateUrl publicKey={c.public_key} />
              </>
            )}
            {example && (
              <>
                {exampleUrl.url && <CopyField id="example-url" label={`Example URL (${example.path}, 800 px wide)`} value={exampleUrl.url} />}
                {exampleUrl.pending && requireSigned && <Loading label="Signing the example URL…" />}
                <div className="field">
                  <span className="label" id="snippet-label">Responsive <code>&lt;img&gt;</code> snippet</span>
                  {requireSigned && (
                    <span className="hint">Your account requires signed URLs: sign each of these URLs on your server before use.</span>
                  )}
                  <pre aria-labelledby="snippet-label" tabIndex={0}>{srcsetSnippet(edgeOrigin(), c.public_key, example.path)}</pre>
                  <div>
                    <CopyButton text={srcsetSnippet(edgeOrigin(), c.public_key, example.path)} what="the snippet" />
                  </div>
                </div>
              </>
            )}
          </div>
        </section>
      </div>
    </>
  );
}
