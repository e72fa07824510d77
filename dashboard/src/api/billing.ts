// Billing calls (api.md "Billing"): Checkout and the Billing Portal are Stripe-hosted pages the
// browser is sent to; invoices come from Stripe through our API.
import { api, call } from './client';

export async function startCheckout(plan: string): Promise<string> {
  const { url } = await call(api.POST('/api/v1/billing/checkout', { body: { plan } }));
  return url;
}

export async function openPortal(): Promise<string> {
  const { url } = await call(api.POST('/api/v1/billing/portal', {}));
  return url;
}

export function listInvoices(signal?: AbortSignal) {
  return call(api.GET('/api/v1/billing/invoices', { signal })).then((r) => r.items);
}
