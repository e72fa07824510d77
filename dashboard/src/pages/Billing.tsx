import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { listInvoices, openPortal, startCheckout } from '../api/billing';
import type { Plan } from '../api/client';
import { ApiError, errorSentence } from '../api/errors';
import { keys, useBillingEnabled, useCustomer, usePlans } from '../api/queries';
import { CardIcon, CheckIcon, ExternalIcon, InfoIcon, XIcon } from '../components/Icons';
import { PageHeader } from '../components/Page';
import { Alert, EmptyState, ErrorState, Loading } from '../components/States';
import { formatBytes, formatDate, formatMoney, formatNumber, formatUsd } from '../lib/format';
import { planLabel } from '../lib/plans';

interface Feature {
  text: string;
  yes: boolean;
  /** A rule of the plan, not a feature it lacks: shown without a cross. */
  info?: boolean;
}

function features(p: Plan): Feature[] {
  return [
    { text: `${formatBytes(p.bandwidth_quota_bytes)} bandwidth / month`, yes: true },
    { text: `${formatBytes(p.storage_quota_bytes)} storage`, yes: true },
    { text: `Originals up to ${formatBytes(p.max_original_bytes)}`, yes: true },
    { text: `Output up to ${formatNumber(p.max_dimension)} px`, yes: true },
    { text: `${formatNumber(p.rate_limit_rps)} requests / second`, yes: true },
    { text: 'AVIF output', yes: p.avif },
    { text: 'Signed URLs', yes: p.signed_urls },
    { text: p.custom_domains > 0 ? `${p.custom_domains} custom domain${p.custom_domains > 1 ? 's' : ''}` : 'Custom domains', yes: p.custom_domains > 0 },
    p.over_quota === 'overage'
      ? { text: 'Over quota: keeps serving, overage billed', yes: true }
      : { text: 'Over quota: images pause until the next month', yes: false, info: true },
  ];
}

const STATUS: Record<string, string> = { paid: 'badge-success', open: 'badge-warning', uncollectible: 'badge-danger', void: '', draft: '' };

export default function Billing() {
  const customer = useCustomer();
  const plans = usePlans();
  const billingEnabled = useBillingEnabled();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const checkout = params.get('checkout');
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [waited, setWaited] = useState(0);

  const invoices = useQuery({
    queryKey: keys.invoices,
    queryFn: ({ signal }) => listInvoices(signal),
    retry: false,
  });

  // Back from Checkout: the webhook may land a moment after the redirect, so look again a few times.
  useEffect(() => {
    if (checkout !== 'success' || waited >= 15 || (waited > 0 && customer.data?.plan !== 'free')) return;
    const t = window.setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey: keys.customer });
      void queryClient.invalidateQueries({ queryKey: keys.invoices });
      void queryClient.invalidateQueries({ queryKey: keys.quota });
      setWaited((w) => w + 1);
    }, waited === 0 ? 0 : 1000);
    return () => window.clearTimeout(t);
  }, [checkout, waited, queryClient, customer.data?.plan]);

  const go = async (what: string, get: () => Promise<string>) => {
    setBusy(what);
    setActionError(null);
    try {
      const url = await get();
      window.location.assign(url);
    } catch (e) {
      setActionError(e);
      setBusy(null);
    }
  };

  if (customer.isPending || plans.isPending) return <Loading />;
  if (customer.isError) return <ErrorState error={customer.error} onRetry={() => customer.refetch()} />;
  if (plans.isError) return <ErrorState error={plans.error} onRetry={() => plans.refetch()} />;
  const c = customer.data;
  const list = plans.data;
  const currentPlan = list.find((p) => p.name === c.plan);
  const paid = (currentPlan?.price_usd ?? 0) > 0;
  const upgraded = checkout === 'success' && paid;
  // No Stripe key on this server: checkout and portal can never work, so they are not offered.
  const noBilling = billingEnabled.data === false;

  return (
    <>
      <PageHeader
        title="Billing"
        description="Plans, payment and invoices. Payments are handled by Stripe."
        actions={
          paid ? (
            <button type="button" className="btn" onClick={() => go('portal', openPortal)} disabled={busy !== null || noBilling}>
              <ExternalIcon /> {busy === 'portal' ? 'Opening…' : 'Manage subscription'}
            </button>
          ) : undefined
        }
      />

      {noBilling && (
        <Alert kind="info">
          Billing is not set up on this server, so plans cannot be changed here. The plans below show what each one includes.
        </Alert>
      )}
      {checkout === 'success' && (
        upgraded ? (
          <Alert kind="success">
            Thank you! You are on the <strong>{planLabel(c.plan)}</strong> plan now.{' '}
            <button type="button" className="link-button" onClick={() => setParams({}, { replace: true })}>Dismiss</button>
          </Alert>
        ) : waited >= 15 ? (
          <Alert kind="warning">Your payment went through, but your plan has not changed yet. It will within a few minutes; reload this page to check.</Alert>
        ) : (
          <Alert kind="info">Payment received: updating your plan…</Alert>
        )
      )}
      {checkout === 'cancelled' && (
        <Alert kind="info">
          Checkout was cancelled: nothing was charged.{' '}
          <button type="button" className="link-button" onClick={() => setParams({}, { replace: true })}>Dismiss</button>
        </Alert>
      )}
      {c.billing_status === 'past_due' && (
        <Alert kind="warning">
          Your last payment failed. Update your payment method in the billing portal to keep your plan.
        </Alert>
      )}
      {actionError != null && (
        <Alert kind="error">
          {actionError instanceof ApiError && actionError.code === 'billing_unavailable'
            ? 'Our payment provider cannot be reached right now. Nothing was charged; please try again in a minute.'
            : errorSentence(actionError)}
        </Alert>
      )}

      <section aria-labelledby="plans-title">
        <h2 id="plans-title" className="visually-hidden">Plans</h2>
        <div className="plans">
          {list.map((p) => {
            const isCurrent = p.name === c.plan;
            const higher = p.price_usd > (currentPlan?.price_usd ?? 0);
            return (
              <article key={p.name} className={`plan ${isCurrent ? 'current' : ''}`} aria-label={`${planLabel(p.name)} plan${isCurrent ? ' (your plan)' : ''}`} data-plan={p.name}>
                <div className="row" style={{ justifyContent: 'space-between' }}>
                  <h3 style={{ fontSize: '1.15rem' }}>{planLabel(p.name)}</h3>
                  {isCurrent && <span className="badge badge-accent">Current plan</span>}
                </div>
                <div className="plan-price">
                  {formatUsd(p.price_usd)} <span>/ month</span>
                </div>
                <ul>
                  {features(p).map((f) => (
                    <li key={f.text} className={f.info ? 'info' : f.yes ? 'yes' : 'no'}>
                      {f.info ? <InfoIcon /> : f.yes ? <CheckIcon /> : <XIcon />}
                      <span>{f.text}{f.yes || f.info ? '' : <span className="visually-hidden"> (not included)</span>}</span>
                    </li>
                  ))}
                </ul>
                {isCurrent ? (
                  <button type="button" className="btn" disabled>Your plan</button>
                ) : higher && p.stripe_price_id && !paid ? (
                  <button type="button" className="btn btn-primary" onClick={() => go(p.name, () => startCheckout(p.name))} disabled={busy !== null || noBilling}>
                    {busy === p.name ? 'Opening checkout…' : `Upgrade to ${planLabel(p.name)}`}
                  </button>
                ) : paid ? (
                  <button type="button" className="btn" onClick={() => go('portal', openPortal)} disabled={busy !== null || noBilling}>
                    {higher ? 'Upgrade' : 'Downgrade'} in the portal
                  </button>
                ) : (
                  <button type="button" className="btn" disabled>Not available</button>
                )}
              </article>
            );
          })}
        </div>
      </section>

      <section className="card" aria-labelledby="invoices-title" style={{ marginTop: '1.5rem' }}>
        <div className="card-header">
          <h2 id="invoices-title">Invoices</h2>
        </div>
        {invoices.isPending && <Loading label="Loading invoices…" />}
        {invoices.isError && (
          <ErrorState
            error={invoices.error}
            title={invoices.error instanceof ApiError && invoices.error.code === 'billing_unavailable' ? 'Invoices are unavailable right now' : 'Invoices could not be loaded'}
            onRetry={() => invoices.refetch()}
          />
        )}
        {invoices.data?.length === 0 && (
          <EmptyState icon={<CardIcon />} title="No invoices yet">
            Invoices appear here after your first payment. The Free plan is never invoiced.
          </EmptyState>
        )}
        {invoices.data && invoices.data.length > 0 && (
          <div className="table-wrap">
            <table className="responsive-table">
              <thead>
                <tr><th scope="col">Date</th><th scope="col" className="num">Amount</th><th scope="col">Status</th><th scope="col"><span className="visually-hidden">Link</span></th></tr>
              </thead>
              <tbody>
                {invoices.data.map((inv) => (
                  <tr key={inv.id}>
                    <td data-label="Date">{formatDate(inv.created)}</td>
                    <td data-label="Amount" className="num">{formatMoney(inv.amount, inv.currency)}</td>
                    <td data-label="Status"><span className={`badge ${STATUS[inv.status] ?? ''}`}>{inv.status}</span></td>
                    <td className="actions">
                      {inv.hosted_invoice_url ? (
                        <a href={inv.hosted_invoice_url} target="_blank" rel="noopener noreferrer" className="btn btn-sm">
                          View invoice <ExternalIcon />
                        </a>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
