import { useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { deliveryUrl } from './urlBuilder';

/** The page's origin: in role `all` the edge answers on the same origin as the dashboard. */
export function edgeOrigin(): string {
  return window.location.origin;
}

/**
 * The delivery URL of an image with options. When the customer requires signed URLs, the
 * server signs it (POST /customer/sign-url), so the signing secret never reaches the browser.
 */
export function useDeliveryUrl(publicKey: string | undefined, path: string | undefined, query: string, requireSigned: boolean, enabled = true) {
  const signed = useQuery({
    queryKey: ['sign-url', path, query],
    queryFn: ({ signal }) =>
      call(
        api.POST('/api/v1/customer/sign-url', {
          body: query ? { path: path ?? '', options: query } : { path: path ?? '' },
          signal,
        }),
      ).then((r) => r.url),
    enabled: Boolean(requireSigned && enabled && path && publicKey),
    staleTime: Infinity,
    gcTime: 10 * 60_000,
    retry: false,
  });
  if (!publicKey || !path) return { url: undefined, pending: true, error: null as unknown, signed: false };
  if (!requireSigned) {
    return { url: deliveryUrl(edgeOrigin(), publicKey, path, query), pending: false, error: null as unknown, signed: false };
  }
  return { url: signed.data, pending: signed.isPending, error: signed.error as unknown, signed: true };
}
