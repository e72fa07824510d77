// Shared queries (TanStack Query): one cache per resource, invalidated after changes.
import { useQuery } from '@tanstack/react-query';
import { api, call, type Plan } from './client';
import { gateMessage, type Gate } from '../lib/plans';

export const keys = {
  customer: ['customer'] as const,
  plans: ['plans'] as const,
  quota: ['quota'] as const,
  images: (prefix: string) => ['images', prefix] as const,
  image: (path: string) => ['image', path] as const,
  usage: (from: string, to: string, granularity: string) => ['usage', from, to, granularity] as const,
  keys: ['keys'] as const,
  presets: ['presets'] as const,
  invoices: ['invoices'] as const,
};

export function useCustomer() {
  return useQuery({
    queryKey: keys.customer,
    queryFn: ({ signal }) => call(api.GET('/api/v1/customer', { signal })),
    staleTime: 30_000,
  });
}

const plansQuery = {
  queryKey: keys.plans,
  queryFn: ({ signal }: { signal: AbortSignal }) => call(api.GET('/api/v1/billing/plans', { signal })),
  staleTime: 10 * 60_000,
};

export function usePlans() {
  return useQuery({ ...plansQuery, select: (r) => r.items });
}

/** False when the server has no Stripe key: checkout and portal answer 501 there. */
export function useBillingEnabled() {
  return useQuery({ ...plansQuery, select: (r) => r.billing_enabled });
}

export function useQuota() {
  return useQuery({
    queryKey: keys.quota,
    queryFn: ({ signal }) => call(api.GET('/api/v1/usage/quota', { signal })),
    staleTime: 5_000,
    refetchInterval: 30_000,
  });
}

export function usePresets() {
  return useQuery({
    queryKey: keys.presets,
    queryFn: ({ signal }) => call(api.GET('/api/v1/presets', { signal })).then((r) => r.items),
  });
}

/** The current plan's features and the message for a gate (null when allowed). */
export function usePlanGates() {
  const customer = useCustomer();
  const plans = usePlans();
  const list: Plan[] = plans.data ?? [];
  const current = list.find((p) => p.name === customer.data?.plan);
  return {
    loading: customer.isPending || plans.isPending,
    current,
    plans: list,
    gate: (gate: Gate) => (plans.data && customer.data ? gateMessage(list, customer.data.plan, gate) : null),
  };
}
