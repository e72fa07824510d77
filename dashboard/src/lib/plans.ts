// Plan gates (plans.md): which plan unlocks a feature, from GET /billing/plans.

export interface PlanFeatures {
  name: string;
  price_usd: number;
  avif: boolean;
  signed_urls: boolean;
  custom_domains: number;
  max_dimension: number;
}

export type Gate =
  | { feature: 'avif' }
  | { feature: 'signed_urls' }
  | { feature: 'custom_domains'; count?: number }
  | { feature: 'max_dimension'; pixels: number };

export function planAllows(plan: PlanFeatures | undefined, gate: Gate): boolean {
  if (!plan) return false;
  switch (gate.feature) {
    case 'avif':
      return plan.avif;
    case 'signed_urls':
      return plan.signed_urls;
    case 'custom_domains':
      return plan.custom_domains >= (gate.count ?? 1);
    case 'max_dimension':
      return plan.max_dimension >= gate.pixels;
  }
}

/** The cheapest plan that allows it (plans come cheapest first; sorted again to be sure). */
export function unlockingPlan(plans: readonly PlanFeatures[], gate: Gate): PlanFeatures | undefined {
  return [...plans].sort((a, b) => a.price_usd - b.price_usd).find((p) => planAllows(p, gate));
}

export function planLabel(name: string): string {
  return name ? name.charAt(0).toUpperCase() + name.slice(1) : name;
}

/** null when the current plan allows it; otherwise what to tell the customer. */
export function gateMessage(plans: readonly PlanFeatures[], current: string | undefined, gate: Gate): string | null {
  const plan = plans.find((p) => p.name === current);
  if (planAllows(plan, gate)) return null;
  const unlock = unlockingPlan(plans, gate);
  return unlock ? `Available on the ${planLabel(unlock.name)} plan` : 'Not available on any plan';
}
