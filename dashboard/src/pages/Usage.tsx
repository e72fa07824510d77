import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, call } from '../api/client';
import { keys, useQuota } from '../api/queries';
import { QuotaBar } from '../components/Bars';
import { TimeChart } from '../components/Chart';
import { TextField } from '../components/Field';
import { ChartIcon, DownloadIcon, RefreshIcon } from '../components/Icons';
import { PageHeader } from '../components/Page';
import { EmptyState, ErrorState, Loading } from '../components/States';
import { toCsv, downloadText } from '../lib/csv';
import { formatBytes, formatDateTime, formatNumber, formatPercent, lastDays } from '../lib/format';
import { METRICS, totals, validateRange, zeroFillHours } from '../lib/usage';

const RANGES = [
  { label: 'Today', days: 1 },
  { label: '7 days', days: 7 },
  { label: '30 days', days: 30 },
  { label: '90 days', days: 90 },
];

const formatCount = (n: number) => (n >= 10_000 ? `${formatNumber(Math.round(n / 1000))}k` : formatNumber(Math.round(n * 100) / 100));

export default function Usage() {
  const [params, setParams] = useSearchParams();
  const defaults = lastDays(7);
  const from = params.get('from') ?? defaults.from;
  const to = params.get('to') ?? defaults.to;
  const granularity: 'hour' | 'day' = params.get('granularity') === 'day' ? 'day' : 'hour';
  const [draft, setDraft] = useState({ from, to });
  const rangeError = validateRange(draft.from, draft.to);

  const set = (next: Record<string, string>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) p.set(k, v);
    setParams(p, { replace: true });
  };

  const usage = useQuery({
    queryKey: keys.usage(from, to, granularity),
    queryFn: ({ signal }) =>
      call(api.GET('/api/v1/usage', { params: { query: { from, to, granularity } }, signal })).then((r) => r.items),
    enabled: !validateRange(from, to),
    refetchInterval: 15_000,
  });
  const quota = useQuota();

  const series = useMemo(
    () => (usage.data ? (granularity === 'hour' ? zeroFillHours(usage.data, from, to) : usage.data) : []),
    [usage.data, granularity, from, to],
  );
  const times = useMemo(() => series.map((b) => Date.parse(b.t) / 1000), [series]);
  const sum = useMemo(() => totals(usage.data ?? []), [usage.data]);
  const requestSeries = useMemo(
    () => [
      { label: 'Requests', values: series.map((b) => b.requests), color: '#4338ca' },
      { label: 'Cache hits', values: series.map((b) => b.cache_hits), color: '#047857' },
      { label: 'Errors', values: series.map((b) => b.errors), color: '#b91c1c' },
    ],
    [series],
  );
  const bandwidthSeries = useMemo(() => [{ label: 'Bandwidth', values: series.map((b) => b.bytes_out), color: '#7c3aed' }], [series]);
  const transformSeries = useMemo(() => [{ label: 'Transforms', values: series.map((b) => b.transforms), color: '#b45309' }], [series]);

  const exportCsv = () => {
    downloadText(`imagecdn-usage-${from}-to-${to}-${granularity}.csv`, toCsv(series, ['t', ...METRICS]));
  };

  return (
    <>
      <PageHeader
        title="Usage"
        description="Deliveries through the edge, counted every few seconds. Times are UTC."
        actions={
          <>
            <button
              type="button"
              className="btn"
              // The whole page: the series and the quota card beside it.
              onClick={() => void Promise.all([usage.refetch(), quota.refetch()])}
              disabled={usage.isFetching || quota.isFetching}
            >
              <RefreshIcon /> {usage.isFetching || quota.isFetching ? 'Refreshing…' : 'Refresh'}
            </button>
            <button type="button" className="btn" onClick={exportCsv} disabled={!usage.data || series.length === 0}>
              <DownloadIcon /> Export CSV
            </button>
          </>
        }
      />

      <section className="card" aria-label="Date range">
        <form
          className="row"
          style={{ alignItems: 'flex-end', gap: '0.9rem' }}
          onSubmit={(e) => {
            e.preventDefault();
            if (!rangeError) set({ from: draft.from, to: draft.to });
          }}
        >
          <div style={{ width: 170 }}>
            <TextField label="From" type="date" value={draft.from} max={draft.to} onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))} />
          </div>
          <div style={{ width: 170 }}>
            <TextField label="To" type="date" value={draft.to} min={draft.from} onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))} />
          </div>
          <button type="submit" className="btn btn-primary" disabled={Boolean(rangeError)}>Apply</button>
          <fieldset className="fieldset">
            <legend>Quick range</legend>
            <div className="row">
              {RANGES.map((r) => (
                <button
                  key={r.days}
                  type="button"
                  className="btn btn-sm"
                  onClick={() => {
                    const next = lastDays(r.days);
                    setDraft(next);
                    set({ ...next, granularity: r.days <= 7 ? 'hour' : 'day' });
                  }}
                >
                  {r.label}
                </button>
              ))}
            </div>
          </fieldset>
          <fieldset className="fieldset">
            <legend>Granularity</legend>
            <div className="segmented">
              {(['hour', 'day'] as const).map((g) => (
                <label key={g}>
                  <input type="radio" name="granularity" value={g} checked={granularity === g} onChange={() => set({ granularity: g })} />
                  By {g}
                </label>
              ))}
            </div>
          </fieldset>
        </form>
        {rangeError && <p className="field-error" role="alert" style={{ marginTop: '0.6rem' }}>{rangeError}</p>}
      </section>

      <div className="grid" style={{ gridTemplateColumns: 'minmax(0, 1fr)', marginTop: '1.25rem' }}>
        <section className="card" aria-labelledby="series-title">
          <div className="card-header">
            <div>
              <h2 id="series-title">Traffic</h2>
              <p>{from} to {to}, by {granularity}</p>
            </div>
          </div>
          {usage.isPending && <Loading label="Loading usage…" />}
          {usage.isError && <ErrorState error={usage.error} onRetry={() => usage.refetch()} />}
          {usage.data && (
            <>
              <div className="totals">
                <div className="total"><div className="stat-label">Requests</div><strong data-testid="total-requests">{formatNumber(sum.requests)}</strong></div>
                <div className="total"><div className="stat-label">Bandwidth</div><strong>{formatBytes(sum.bytes_out)}</strong></div>
                <div className="total"><div className="stat-label">Transforms</div><strong>{formatNumber(sum.transforms)}</strong></div>
                <div className="total"><div className="stat-label">Cache hits</div><strong>{formatNumber(sum.cache_hits)} <span className="muted small">({formatPercent(sum.cache_hits, sum.requests)})</span></strong></div>
                <div className="total"><div className="stat-label">Errors</div><strong>{formatNumber(sum.errors)}</strong></div>
              </div>
              {sum.requests === 0 ? (
                <EmptyState icon={<ChartIcon />} title="No traffic in this range yet">
                  Requests to your image URLs show up here a few seconds after they are served. Try a wider range, or open an image URL.
                </EmptyState>
              ) : (
                <div className="stack" style={{ gap: '1.5rem' }}>
                  <TimeChart title="Requests, cache hits and errors" times={times} series={requestSeries} format={formatCount} testId="chart-requests" />
                  <TimeChart title="Bandwidth" times={times} series={bandwidthSeries} format={(n) => formatBytes(n)} testId="chart-bandwidth" />
                  <TimeChart title="Transforms" times={times} series={transformSeries} format={formatCount} testId="chart-transforms" />
                  <details>
                    <summary>Show the data as a table</summary>
                    <div className="table-wrap" style={{ marginTop: '0.75rem' }}>
                      <table>
                        <caption className="visually-hidden">Usage by {granularity}</caption>
                        <thead>
                          <tr>
                            <th scope="col">Time</th><th scope="col" className="num">Requests</th><th scope="col" className="num">Bandwidth</th>
                            <th scope="col" className="num">Transforms</th><th scope="col" className="num">Cache hits</th><th scope="col" className="num">Errors</th>
                          </tr>
                        </thead>
                        <tbody>
                          {series.filter((b) => b.requests > 0).map((b) => (
                            <tr key={b.t}>
                              <td className="nowrap">{granularity === 'day' ? b.t.slice(0, 10) : formatDateTime(b.t)}</td>
                              <td className="num">{formatNumber(b.requests)}</td>
                              <td className="num">{formatBytes(b.bytes_out)}</td>
                              <td className="num">{formatNumber(b.transforms)}</td>
                              <td className="num">{formatNumber(b.cache_hits)}</td>
                              <td className="num">{formatNumber(b.errors)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  </details>
                </div>
              )}
            </>
          )}
        </section>

        <section className="card" aria-labelledby="quota-status">
          <div className="card-header">
            <div>
              <h2 id="quota-status">Quota status</h2>
              <p>This calendar month (UTC)</p>
            </div>
          </div>
          {quota.isPending && <Loading />}
          {quota.isError && <ErrorState error={quota.error} onRetry={() => quota.refetch()} />}
          {quota.data && (
            <>
              <QuotaBar label="Bandwidth" used={quota.data.bandwidth_used} quota={quota.data.bandwidth_quota} />
              <QuotaBar label="Storage" used={quota.data.storage_used} quota={quota.data.storage_quota} />
              <p className="muted small" style={{ marginTop: '0.9rem', marginBottom: 0 }}>
                {formatNumber(quota.data.requests)} requests this month.
              </p>
            </>
          )}
        </section>
      </div>
    </>
  );
}
