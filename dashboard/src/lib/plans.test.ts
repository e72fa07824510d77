import { describe, expect, it } from 'vitest';
import { gateMessage, planAllows, unlockingPlan } from './plans';

const plans = [
  { name: 'free', price_usd: 0, avif: false, signed_urls: false, custom_domains: 0, max_dimension: 2048 },
  { name: 'business', price_usd: 200, avif: true, signed_urls: true, custom_domains: 10, max_dimension: 8192 },
  { name: 'pro', price_usd: 20, avif: true, signed_urls: true, custom_domains: 1, max_dimension: 4096 },
];

describe('plan gates', () => {
  it('names the cheapest plan that unlocks a feature', () => {
    expect(unlockingPlan(plans, { feature: 'avif' })?.name).toBe('pro');
    expect(unlockingPlan(plans, { feature: 'custom_domains', count: 2 })?.name).toBe('business');
    expect(unlockingPlan(plans, { feature: 'max_dimension', pixels: 5000 })?.name).toBe('business');
    expect(unlockingPlan(plans, { feature: 'max_dimension', pixels: 9000 })).toBeUndefined();
  });

  it('says nothing when the current plan allows it', () => {
    expect(gateMessage(plans, 'pro', { feature: 'avif' })).toBeNull();
    expect(gateMessage(plans, 'free', { feature: 'avif' })).toBe('Available on the Pro plan');
    expect(gateMessage(plans, 'free', { feature: 'signed_urls' })).toBe('Available on the Pro plan');
    expect(gateMessage(plans, 'pro', { feature: 'custom_domains', count: 3 })).toBe('Available on the Business plan');
    expect(gateMessage(plans, 'free', { feature: 'max_dimension', pixels: 100000 })).toBe('Not available on any plan');
    expect(planAllows(undefined, { feature: 'avif' })).toBe(false);
  });
});
