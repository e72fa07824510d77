// A loopback stand-in for Stripe: its REST API (form-encoded requests, JSON answers, error
// JSON, idempotency), its hosted Checkout and portal pages, and signed webhook deliveries.
// Tests drive it through the /__fake/ control endpoints (tests/support/fake_stripe.h).
//
//   PORT=0 FAKE_STRIPE_SECRET_KEY=sk_test_fake FAKE_STRIPE_WEBHOOK_URL=http://... \
//   FAKE_STRIPE_WEBHOOK_SECRET=whsec_... node server.mjs     → prints "listening <port>"
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

const API_VERSION = '2024-06-20';
const SECRET_KEY = process.env.FAKE_STRIPE_SECRET_KEY || 'sk_test_fake';
const WEBHOOK_URL = process.env.FAKE_STRIPE_WEBHOOK_URL || '';
const WEBHOOK_SECRET = process.env.FAKE_STRIPE_WEBHOOK_SECRET || '';
// The official library signs the webhooks, so our verifier is checked against Stripe's own code.
const stripe = new Stripe(SECRET_KEY);

let baseUrl = '';
const state = freshState();

function freshState() {
  return {
    customers: new Map(),
    checkoutSessions: new Map(),
    portalSessions: new Map(),
    subscriptions: new Map(),
    invoices: new Map(),
    prices: new Map(),
    meterEvents: [],
    deliveries: [],
    idempotent: new Map(),
    requests: [],
    mode: { mode: 'ok', count: -1 },
  };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const now = () => Math.floor(Date.now() / 1000);

/** Stripe-like ids: a prefix and random base62 characters. */
function newId(prefix, length = 24) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let id = '';
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return `${prefix}_${id}`;
}

function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Stripe's list envelope, newest first, cut at `limit` (default 10, at most 100). */
function list(url, items, limit) {
  const n = Math.min(Math.max(parseInt(limit ?? '10', 10) || 10, 1), 100);
  const sorted = [...items].reverse().sort((a, b) => b.created - a.created);
  return { object: 'list', data: sorted.slice(0, n), has_more: sorted.length > n, url };
}

// ---------------------------------------------------------------------------------------------
// Form bodies: bracketed keys in order, nested like the `qs` package parses them.

/** [[key, value], ...] in the order sent; URLSearchParams undoes %XX and '+'. */
function flatForm(raw) {
  return [...new URLSearchParams(raw)];
}

/** `line_items[0][price]` → ['line_items', '0', 'price']. */
function keyPath(key) {
  const first = key.indexOf('[');
  if (first <= 0) return [key];
  const parts = [key.slice(0, first)];
  for (const m of key.slice(first).matchAll(/\[([^\]]*)\]/g)) parts.push(m[1]);
  return parts;
}

function setPath(root, parts, value) {
  let node = root;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const key = Array.isArray(node) && part === '' ? node.length : part;
    if (last) {
      node[key] = value;
      return;
    }
    if (node[key] === undefined) node[key] = /^\d*$/.test(parts[i + 1]) ? [] : {};
    node = node[key];
  });
}

function nestForm(pairs) {
  const root = {};
  for (const [key, value] of pairs) {
    const parts = keyPath(key);
    if (!parts.includes('__proto__')) setPath(root, parts, value);
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Answers

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  const type = typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json';
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Stripe's error JSON. */
function stripeError(status, type, message, code, param) {
  const error = { type, message };
  if (code) {
    error.code = code;
    error.doc_url = `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
  }
  if (param) error.param = param;
  return { status, body: { error } };
}

const missing = (param) =>
  stripeError(400, 'invalid_request_error', `Missing required param: ${param}.`, 'parameter_missing', param);

// Stripe answers 404 for an unknown id in the path, 400 for one named in a parameter.
const noSuch = (what, id, param = 'id') =>
  stripeError(param === 'id' ? 404 : 400, 'invalid_request_error', `No such ${what}: '${id}'`,
    'resource_missing', param);

/** The first of `params` (bracketed paths) that is absent from the flat form, if any. */
function firstMissing(flat, params) {
  const present = new Set(flat.map(([k]) => k));
  return params.find((p) => !present.has(p));
}

// ---------------------------------------------------------------------------------------------
// Stripe objects

function createCustomer(fields) {
  const customer = {
    id: newId('cus', 14), object: 'customer', created: now(), email: fields.email ?? null,
    name: fields.name ?? null, description: fields.description ?? null,
    metadata: fields.metadata ?? {}, livemode: false, delinquent: false,
  };
  state.customers.set(customer.id, customer);
  return customer;
}

function priceObject(id) {
  const known = state.prices.get(id) ?? {};
  return {
    id, object: 'price', active: true, currency: known.currency ?? 'usd',
    unit_amount: known.unit_amount ?? 0, nickname: known.nickname ?? null,
    recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' }, livemode: false,
  };
}

function createSubscription({ customer, price, status = 'active', metadata = {} }) {
  const created = now();
  const id = newId('sub');
  const subscription = {
    id, object: 'subscription', customer, status, created, start_date: created,
    current_period_start: created, current_period_end: created + 30 * 86400,
    cancel_at_period_end: false, canceled_at: null, ended_at: null, metadata,
    items: {
      object: 'list', has_more: false, url: `/v1/subscription_items?subscription=${id}`,
      data: [{ id: newId('si', 14), object: 'subscription_item', created, quantity: 1,
               subscription: id, price: priceObject(price) }],
    },
    latest_invoice: null, livemode: false,
  };
  state.subscriptions.set(id, subscription);
  return subscription;
}

function createInvoice({ customer, amount_due = 0, currency = 'usd', status = 'paid', subscription = null }) {
  const id = newId('in');
  const amount = Number(amount_due) || 0;
  const invoice = {
    id, object: 'invoice', customer, subscription, status, currency, amount_due: amount,
    amount_paid: status === 'paid' ? amount : 0, created: now(), paid: status === 'paid',
    hosted_invoice_url: `${baseUrl}/invoice/${id}`, livemode: false,
  };
  state.invoices.set(id, invoice);
  return invoice;
}

// ---------------------------------------------------------------------------------------------
// Webhooks

function buildEvent({ type, object, created, id }) {
  return {
    id: id ?? newId('evt'), object: 'event', api_version: API_VERSION, created: created ?? now(),
    livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type,
    data: { object },
  };
}

/** Signs and POSTs `event` as Stripe does; resolves to the endpoint's status and body. */
async function deliver(event, { target = WEBHOOK_URL, timestamp } = {}) {
  const payload = JSON.stringify(event, null, 2);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp });
  const record = { event: event.id, type: event.type, target, status: 0, body: '' };
  state.deliveries.push(record);
  if (!target) return { ...record, body: 'no webhook url configured' };
  try {
    const res = await fetch(target, {
      method: 'POST', body: payload, signal: AbortSignal.timeout(15000),
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header,
                 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    });
    record.status = res.status;
    record.body = await res.text();
  } catch (e) {
    record.body = String(e.cause ?? e);
  }
  return record;
}

async function deliverAll(events) {
  const results = [];
  for (const event of events) results.push(await deliver(event));
  return results;
}

// ---------------------------------------------------------------------------------------------
// The Stripe API routes: each takes {form, flat, query, params} and answers {status, body}.

function postCustomers({ form }) {
  return { status: 200, body: createCustomer(form) };
}

/** GET /v1/<things>/:id: the object `lookup` finds, or Stripe's resource_missing. */
const getById = (what, lookup) => ({ params }) => {
  const found = lookup(params[0]);
  return found ? { status: 200, body: found } : noSuch(what, params[0]);
};

function postCheckoutSession({ form, flat }) {
  const absent = firstMissing(flat, ['mode', 'success_url', 'line_items[0][price]']);
  if (absent) return missing(absent);
  if (form.customer && !state.customers.has(form.customer)) {
    return noSuch('customer', form.customer, 'customer');
  }
  const id = newId('cs_test', 58);
  const session = {
    id, object: 'checkout.session', mode: form.mode, status: 'open', payment_status: 'unpaid',
    customer: form.customer ?? null, customer_email: form.customer_email ?? null,
    client_reference_id: form.client_reference_id ?? null, subscription: null,
    success_url: form.success_url, cancel_url: form.cancel_url ?? null, url: `${baseUrl}/checkout/${id}`,
    metadata: form.metadata ?? {}, created: now(), expires_at: now() + 86400, livemode: false,
    currency: priceObject(form.line_items[0].price).currency,
    amount_total: priceObject(form.line_items[0].price).unit_amount,
  };
  // Not part of Stripe's session object; kept beside it for the payment.
  state.checkoutSessions.set(id, {
    session, price: form.line_items[0].price, subscriptionMetadata: form.subscription_data?.metadata ?? {},
  });
  return { status: 200, body: session };
}

function postPortalSession({ form, flat }) {
  const absent = firstMissing(flat, ['customer']);
  if (absent) return missing(absent);
  if (!state.customers.has(form.customer)) return noSuch('customer', form.customer, 'customer');
  const id = newId('bps');
  const session = {
    id, object: 'billing_portal.session', customer: form.customer, return_url: form.return_url ?? null,
    url: `${baseUrl}/portal/${id}`, created: now(), livemode: false,
  };
  state.portalSessions.set(id, session);
  return { status: 200, body: session };
}

function getInvoices({ query }) {
  const all = [...state.invoices.values()].filter((i) => !query.customer || i.customer === query.customer);
  return { status: 200, body: list('/v1/invoices', all, query.limit) };
}

function getSubscriptions({ query }) {
  // Like Stripe, canceled subscriptions are listed only when asked for (status=all or canceled).
  const wanted = query.status ?? 'not_canceled';
  const matches = (s) => wanted === 'all' || s.status === wanted || (wanted === 'not_canceled' && s.status !== 'canceled');
  const all = [...state.subscriptions.values()]
    .filter((s) => (!query.customer || s.customer === query.customer) && matches(s));
  return { status: 200, body: list('/v1/subscriptions', all, query.limit) };
}

function postMeterEvent({ form, flat }) {
  const absent = firstMissing(flat, ['event_name', 'payload[stripe_customer_id]', 'payload[value]']);
  if (absent) return missing(absent);
  const event = {
    object: 'billing.meter_event', created: now(), event_name: form.event_name,
    identifier: form.identifier ?? newId('mev'), livemode: false, payload: form.payload,
    timestamp: form.timestamp ? Number(form.timestamp) : now(),
  };
  // Stripe counts an identifier once: a repeat is answered but not metered again.
  if (!state.meterEvents.some((e) => e.identifier === event.identifier)) state.meterEvents.push(event);
  return { status: 200, body: event };
}

const API_ROUTES = [
  ['POST', /^\/v1\/customers$/, postCustomers],
  ['GET', /^\/v1\/customers\/([^/]+)$/, getById('customer', (id) => state.customers.get(id))],
  ['POST', /^\/v1\/checkout\/sessions$/, postCheckoutSession],
  ['GET', /^\/v1\/checkout\/sessions\/([^/]+)$/,
   getById('checkout.session', (id) => state.checkoutSessions.get(id)?.session)],
  ['POST', /^\/v1\/billing_portal\/sessions$/, postPortalSession],
  ['GET', /^\/v1\/invoices$/, getInvoices],
  ['GET', /^\/v1\/subscriptions$/, getSubscriptions],
  ['GET', /^\/v1\/subscriptions\/([^/]+)$/, getById('subscription', (id) => state.subscriptions.get(id))],
  ['POST', /^\/v1\/billing\/meter_events$/, postMeterEvent],
];

function route(routes, method, path) {
  for (const [m, pattern, handler] of routes) {
    const match = m === method && pattern.exec(path);
    if (match) return { handler, params: match.slice(1).map(decodeURIComponent) };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The API pipeline: record → failure mode → auth → idempotency → route.

function recordRequest(req, url, raw) {
  const flat = flatForm(raw);
  const pick = (name) => req.headers[name] ?? null;
  const record = {
    method: req.method, path: url.pathname, query: nestForm([...url.searchParams]),
    headers: { authorization: pick('authorization'), 'idempotency-key': pick('idempotency-key'),
               'content-type': pick('content-type'), 'stripe-version': pick('stripe-version'),
               'user-agent': pick('user-agent') },
    raw_body: raw, form: nestForm(flat), flat_form: flat,
  };
  state.requests.push(record);
  return record;
}

/** error500, error429 and hang modes; true when the request was taken over by the mode. */
function applyMode(res) {
  const { mode } = state.mode;
  if (mode === 'ok' || state.mode.count === 0) return false;
  if (state.mode.count > 0) state.mode.count -= 1;
  if (mode === 'hang') return true; // accepted, never answered
  const { status, body } = mode === 'error429'
    ? stripeError(429, 'invalid_request_error', 'Request rate limit exceeded (fake Stripe error429 mode).', 'rate_limit')
    : stripeError(500, 'api_error', 'An unknown error occurred (fake Stripe error500 mode).');
  send(res, status, body);
  return true;
}

function checkAuth(req) {
  const auth = req.headers.authorization;
  if (!auth) {
    return stripeError(401, 'invalid_request_error',
      'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').');
  }
  if (auth !== `Bearer ${SECRET_KEY}`) {
    return stripeError(401, 'invalid_request_error', 'Invalid API Key provided: sk_test_****', 'api_key_invalid');
  }
  return null;
}

/** A replay of a stored answer, a conflict, or null when the key is new (or absent). */
function checkIdempotency(req, record) {
  const key = record.headers['idempotency-key'];
  if (req.method !== 'POST' || !key) return null;
  const stored = state.idempotent.get(key);
  if (!stored) return null;
  if (stored.path !== record.path || stored.raw !== record.raw_body) {
    return { answer: stripeError(400, 'idempotency_error',
      `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`) };
  }
  return { answer: stored.answer, replayed: true };
}

function handleApi(req, res, url, raw) {
  const record = recordRequest(req, url, raw);
  if (applyMode(res)) return;
  const refused = checkAuth(req);
  if (refused) return send(res, refused.status, refused.body);
  const headers = { 'Request-Id': newId('req', 14), 'Stripe-Version': API_VERSION };
  const key = record.headers['idempotency-key'];
  if (req.method === 'POST' && key) headers['Idempotency-Key'] = key;
  const idem = checkIdempotency(req, record);
  if (idem) {
    if (idem.replayed) headers['Idempotent-Replayed'] = 'true';
    return send(res, idem.answer.status, idem.answer.body, headers);
  }
  const found = route(API_ROUTES, req.method, url.pathname);
  const answer = found
    ? found.handler({ form: record.form, flat: record.flat_form, query: record.query, params: found.params })
    : stripeError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname}).`);
  // Like Stripe, only answers of requests that ran are kept for replay; refused ones are not.
  if (req.method === 'POST' && key && answer.status < 400) {
    state.idempotent.set(key, { path: record.path, raw: record.raw_body, answer });
  }
  send(res, answer.status, answer.body, headers);
}

// ---------------------------------------------------------------------------------------------
// Hosted pages (what a browser sees)

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main>${body}</main></body></html>`;
}

function priceLabel(priceId) {
  const price = priceObject(priceId);
  if (!price.unit_amount) return escapeHtml(priceId);
  const amount = (price.unit_amount / 100).toFixed(2);
  return `${escapeHtml(amount)} ${escapeHtml(price.currency.toUpperCase())} / month (${escapeHtml(priceId)})`;
}

function checkoutPage({ params }) {
  const record = state.checkoutSessions.get(params[0]);
  if (!record) return { status: 404, body: page('Not found', '<h1>This checkout session does not exist.</h1>') };
  const { session, price, subscriptionMetadata } = record;
  const plan = subscriptionMetadata.plan ?? session.metadata.plan ?? price;
  if (session.status !== 'open') {
    return { status: 200, body: page('Checkout complete', '<h1>This checkout session is complete.</h1>') };
  }
  const cancel = session.cancel_url ? `<a href="${escapeHtml(session.cancel_url)}">Cancel</a>` : '';
  return { status: 200, body: page(`Subscribe to ${plan}`, `<h1>Subscribe to ${escapeHtml(plan)}</h1>
<p>Plan: <strong data-testid="plan">${escapeHtml(plan)}</strong></p>
<p>Price: <span data-testid="price">${priceLabel(price)}</span></p>
<form method="post" action="/checkout/${escapeHtml(session.id)}/pay"><button type="submit">Pay</button></form>
${cancel}`) };
}

/** Paying: subscription + paid invoice, session complete, Stripe's webhooks in Stripe's order. */
async function payCheckout({ params }) {
  const record = state.checkoutSessions.get(params[0]);
  if (!record) return { status: 404, body: page('Not found', '<h1>This checkout session does not exist.</h1>') };
  const { session } = record;
  if (session.status !== 'open') {
    return { status: 409, body: page('Expired', '<h1>This checkout session is no longer active.</h1>') };
  }
  if (!session.customer) session.customer = createCustomer({ email: session.customer_email }).id;
  const subscription = createSubscription({ customer: session.customer, price: record.price,
                                            metadata: record.subscriptionMetadata });
  const invoice = createInvoice({ customer: session.customer, subscription: subscription.id,
                                  amount_due: priceObject(record.price).unit_amount,
                                  currency: priceObject(record.price).currency });
  subscription.latest_invoice = invoice.id;
  Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
  await deliverAll([
    buildEvent({ type: 'customer.subscription.created', object: subscription }),
    buildEvent({ type: 'checkout.session.completed', object: session }),
    buildEvent({ type: 'invoice.paid', object: invoice }),
  ]);
  const location = session.success_url.replaceAll('{CHECKOUT_SESSION_ID}', session.id);
  return { status: 303, body: '', headers: { Location: location } };
}

function portalPage({ params }) {
  const session = state.portalSessions.get(params[0]);
  if (!session) return { status: 404, body: page('Not found', '<h1>This portal session does not exist.</h1>') };
  const items = [...state.subscriptions.values()].filter((s) => s.customer === session.customer)
    .map((s) => `<li>${escapeHtml(s.items.data[0].price.id)}: ${escapeHtml(s.status)}</li>`).join('');
  const back = session.return_url ? `<a href="${escapeHtml(session.return_url)}">Return to ImageCDN</a>` : '';
  return { status: 200, body: page('Manage billing', `<h1>Manage billing</h1>
<h2>Subscriptions</h2><ul>${items}</ul>${back}`) };
}

function invoicePage({ params }) {
  const invoice = state.invoices.get(params[0]);
  if (!invoice) return { status: 404, body: page('Not found', '<h1>This invoice does not exist.</h1>') };
  const amount = `${(invoice.amount_due / 100).toFixed(2)} ${invoice.currency.toUpperCase()}`;
  return { status: 200, body: page(`Invoice ${invoice.id}`, `<h1>Invoice ${escapeHtml(invoice.id)}</h1>
<p>Amount: ${escapeHtml(amount)}</p><p>Status: ${escapeHtml(invoice.status)}</p>`) };
}

const PAGE_ROUTES = [
  ['GET', /^\/checkout\/([^/]+)$/, checkoutPage],
  ['POST', /^\/checkout\/([^/]+)\/pay$/, payCheckout],
  ['GET', /^\/portal\/([^/]+)$/, portalPage],
  ['GET', /^\/invoice\/([^/]+)$/, invoicePage],
];

// ---------------------------------------------------------------------------------------------
// Test control endpoints (/__fake/, no auth, JSON in and out)

function fakeRequests() {
  return { status: 200, body: state.requests };
}

function fakeClearRequests() {
  state.requests.length = 0;
  return { status: 200, body: {} };
}

function fakeMode({ json }) {
  if (!['ok', 'error500', 'error429', 'hang'].includes(json.mode)) {
    return { status: 400, body: { error: 'mode: ok, error500, error429 or hang' } };
  }
  state.mode = { mode: json.mode, count: Number.isInteger(json.count) && json.count >= 0 ? json.count : -1 };
  return { status: 200, body: state.mode };
}

function fakeSign({ json }) {
  if (typeof json.payload !== 'string' || typeof json.secret !== 'string') {
    return { status: 400, body: { error: 'payload and secret must be strings' } };
  }
  const header = stripe.webhooks.generateTestHeaderString({
    payload: json.payload, secret: json.secret, timestamp: json.timestamp });
  return { status: 200, body: { header } };
}

async function fakeDeliver({ json }) {
  if (typeof json.type !== 'string' || typeof json.object !== 'object' || json.object === null) {
    return { status: 400, body: { error: 'type (string) and object (object) are required' } };
  }
  const event = buildEvent(json);
  const result = await deliver(event, { target: json.target ?? WEBHOOK_URL, timestamp: json.timestamp });
  return { status: 200, body: { status: result.status, body: result.body, event } };
}

/** Optionally delivers `type` for `subscription`; the answer of the control call. */
async function subscriptionAnswer(subscription, type, shouldDeliver, previous) {
  let delivery = null;
  if (shouldDeliver) {
    const event = buildEvent({ type, object: subscription });
    if (previous) event.data.previous_attributes = previous;
    const result = await deliver(event);
    delivery = { status: result.status, body: result.body, event };
  }
  return { status: 200, body: { subscription, delivery } };
}

function fakeCreateSubscription({ json }) {
  if (typeof json.customer !== 'string' || typeof json.price !== 'string') {
    return { status: 400, body: { error: 'customer and price are required' } };
  }
  const subscription = createSubscription(json);
  return subscriptionAnswer(subscription, 'customer.subscription.created', json.deliver === true);
}

function fakeUpdateSubscription({ json, params }) {
  const subscription = state.subscriptions.get(params[0]);
  if (!subscription) return { status: 404, body: { error: `no subscription ${params[0]}` } };
  const previous = { status: subscription.status, items: structuredClone(subscription.items) };
  if (json.price) subscription.items.data[0].price = priceObject(json.price);
  if (json.status) subscription.status = json.status;
  if (json.metadata) subscription.metadata = json.metadata;
  const canceled = subscription.status === 'canceled';
  if (canceled) Object.assign(subscription, { canceled_at: now(), ended_at: now() });
  const type = canceled ? 'customer.subscription.deleted' : 'customer.subscription.updated';
  return subscriptionAnswer(subscription, type, json.deliver !== false, canceled ? null : previous);
}

function fakeCreateInvoice({ json }) {
  if (typeof json.customer !== 'string') return { status: 400, body: { error: 'customer is required' } };
  return { status: 200, body: createInvoice(json) };
}

/** Prices the fake knows amounts for (shown on the Checkout page, used for invoices). */
function fakePrice({ json }) {
  if (typeof json.id !== 'string') return { status: 400, body: { error: 'id is required' } };
  state.prices.set(json.id, { unit_amount: json.unit_amount, currency: json.currency, nickname: json.nickname });
  return { status: 200, body: priceObject(json.id) };
}

function fakeState() {
  return { status: 200, body: {
    customers: [...state.customers.values()],
    checkout_sessions: [...state.checkoutSessions.values()].map((r) => r.session),
    portal_sessions: [...state.portalSessions.values()],
    subscriptions: [...state.subscriptions.values()],
    invoices: [...state.invoices.values()],
    meter_events: state.meterEvents, deliveries: state.deliveries, mode: state.mode,
  } };
}

function fakeReset() {
  Object.assign(state, freshState());
  return { status: 200, body: {} };
}

const FAKE_ROUTES = [
  ['GET', /^\/__fake\/requests$/, fakeRequests],
  ['DELETE', /^\/__fake\/requests$/, fakeClearRequests],
  ['POST', /^\/__fake\/mode$/, fakeMode],
  ['POST', /^\/__fake\/sign$/, fakeSign],
  ['POST', /^\/__fake\/deliver$/, fakeDeliver],
  ['POST', /^\/__fake\/subscriptions$/, fakeCreateSubscription],
  ['POST', /^\/__fake\/subscriptions\/([^/]+)$/, fakeUpdateSubscription],
  ['POST', /^\/__fake\/invoices$/, fakeCreateInvoice],
  ['POST', /^\/__fake\/prices$/, fakePrice],
  ['GET', /^\/__fake\/meter_events$/, () => ({ status: 200, body: state.meterEvents })],
  ['GET', /^\/__fake\/state$/, fakeState],
  ['POST', /^\/__fake\/reset$/, fakeReset],
];

// ---------------------------------------------------------------------------------------------
// The server

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw) {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? value : null;
  } catch {
    return null;
  }
}

async function handleRoutes(routes, req, res, url, raw, isJson) {
  const found = route(routes, req.method, url.pathname);
  if (!found) return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  const json = isJson ? parseJson(raw) : {};
  if (json === null) return send(res, 400, { error: 'body must be a JSON object' });
  const answer = await found.handler({ json, params: found.params });
  send(res, answer.status, answer.body, answer.headers);
}

async function handle(req, res) {
  const url = new URL(req.url, baseUrl);
  const raw = await readBody(req);
  if (url.pathname.startsWith('/v1/')) return handleApi(req, res, url, raw);
  if (url.pathname.startsWith('/__fake/')) return handleRoutes(FAKE_ROUTES, req, res, url, raw, true);
  return handleRoutes(PAGE_ROUTES, req, res, url, raw, false);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`fake stripe: ${e.stack ?? e}\n`);
    if (!res.headersSent) send(res, 500, { error: String(e) });
  });
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  baseUrl = `http://127.0.0.1:${port}`;
  process.stdout.write(`listening ${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
