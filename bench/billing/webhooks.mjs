#!/usr/bin/env node
// Webhook handling latency under an open-loop load of mixed Stripe events (issue 7's figure).
//
//   node bench/billing/webhooks.mjs [rate_per_s=200] [seconds=15] [customers=20]
//
// Starts the built binary and the fake Stripe (tests/fake_stripe) on loopback, links
// `customers` accounts to Stripe through a real checkout (API → fake Checkout → signed webhooks),
// then sends `rate` events per second for `seconds`, on a schedule that does not wait for answers:
// 30% customer.subscription.updated (pro ↔ business, newer each time), 25% invoice.paid, 15%
// invoice.payment_failed, 10% an older subscription.updated (arrives out of order), 10% an
// unknown type, 10% a replay of an event already sent. Each is signed with the `stripe`
// package's generateTestHeaderString. Prints latency p50/p90/p99/max and the database rows
// (webhook_events must equal the distinct handled event ids sent: each applied once).
// On the PostgreSQL database of IMAGECDN_DATABASE_URL when set (bench/db/engines.sh).
// Needs: build/imagecdn, npm ci in tests/fake_stripe, python3 (reads the SQLite file) or psql.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'tests/fake_stripe/package.json'));
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_fake');

const RATE = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 15);
const CUSTOMERS = Number(process.argv[4] ?? 20);
const BIN = process.env.CDN_BIN ?? path.join(ROOT, 'build/imagecdn');
const SECRET = 'whsec_bench_0123456789';
const work = mkdtempSync(path.join(os.tmpdir(), 'imagecdn-bench-webhooks-'));
const children = [];

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(port, method, target, headers = {}, body = '') {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: target, headers, agent },
      (res) => {
        let data = '';
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function start(cmd, args, env, readyLine) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4096)));
  return new Promise((resolve, reject) => {
    if (!readyLine) {
      child.stdout.resume(); // the access log: drained, never read
      return resolve(child);
    }
    child.stdout.once('data', (d) => {
      const line = String(d).trim();
      if (!line.startsWith(readyLine)) return reject(new Error(line));
      child.readyLine = line;
      child.stdout.resume(); // keep draining: a full pipe would stall the child's logging
      resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)));
  });
}

async function waitHealthy(port) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await request(port, 'GET', '/healthz')).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

/** The rows of `query` (arrays of text) from the server's database: the SQLite file, or the
 *  PostgreSQL database of IMAGECDN_DATABASE_URL when set (through psql). */
function sqlRows(query) {
  const url = process.env.IMAGECDN_DATABASE_URL;
  const out = url
    ? execFileSync('psql', ['-At', '-F', '\t', url, '-c', query]).toString()
    : execFileSync('python3', ['-c',
      'import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("\\t".join(map(str, r)))',
      path.join(work, 'data/imagecdn.db'), query]).toString();
  return out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
}

const sql = (query) => sqlRows(query)[0][0];

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Links one account to Stripe: checkout through our API, then "Pay" on the fake's page. */
async function linkCustomer(cdnPort, stripePort, index) {
  const out = execFileSync(BIN, ['customer', 'create', '--email', `bench${index}@example.com`,
    '--data-dir', path.join(work, 'data')]).toString();
  const { customer_id: id, api_key: key } = JSON.parse(out);
  const res = await request(cdnPort, 'POST', '/api/v1/billing/checkout',
    { 'X-API-Key': key, 'Content-Type': 'application/json' }, '{"plan":"pro"}');
  if (res.status !== 200) throw new Error(`checkout: ${res.status} ${res.body}`);
  const url = new URL(JSON.parse(res.body).url);
  const paid = await request(stripePort, 'POST', `${url.pathname}/pay`);
  if (paid.status !== 303) throw new Error(`pay: ${paid.status} ${paid.body}`);
  return id;
}

async function main() {
  const cdnPort = await freePort();
  const stripeProc = await start('node', [path.join(ROOT, 'tests/fake_stripe/server.mjs')], {
    PORT: '0', FAKE_STRIPE_SECRET_KEY: 'sk_test_fake', FAKE_STRIPE_WEBHOOK_SECRET: SECRET,
    FAKE_STRIPE_WEBHOOK_URL: `http://127.0.0.1:${cdnPort}/api/v1/webhooks/stripe`,
  }, 'listening');
  const stripePort = Number(stripeProc.readyLine.split(' ')[1]);
  const cdn = await start(BIN, ['serve', '--data-dir', path.join(work, 'data'), '--listen', `127.0.0.1:${cdnPort}`], {
    IMAGECDN_LOG_LEVEL: 'warn',
    IMAGECDN_STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
    IMAGECDN_STRIPE_SECRET_KEY: 'sk_test_fake',
    IMAGECDN_STRIPE_WEBHOOK_SECRET: SECRET,
  });
  await waitHealthy(cdnPort);

  const linked = [];
  for (let i = 0; i < CUSTOMERS; i++) await linkCustomer(cdnPort, stripePort, i);
  const customers = sql('SELECT COUNT(*) FROM customers WHERE stripe_subscription_id IS NOT NULL');
  const subs = sqlRows('SELECT stripe_customer_id, stripe_subscription_id FROM customers ' +
    'WHERE stripe_subscription_id IS NOT NULL');
  for (const [cus, sub] of subs) linked.push({ cus, sub });
  const eventsBefore = Number(sql('SELECT COUNT(*) FROM webhook_events'));

  const total = RATE * SECONDS;
  const sent = [];
  const handledIds = new Set();
  let clock = Math.floor(Date.now() / 1000);
  let seq = 0;
  const makeEvent = () => {
    const c = linked[seq % linked.length];
    const roll = (seq * 7919) % 100;
    seq++;
    if (roll < 10 && sent.length > 0) return { ...sent[(seq * 31) % sent.length], replay: true };
    const created = clock + seq; // strictly newer, except the out-of-order share
    const price = seq % 2 ? 'price_business' : 'price_pro';
    const subscription = (at) => ({ id: c.sub, object: 'subscription', customer: c.cus, status: 'active',
      items: { object: 'list', data: [{ id: 'si_1', price: { id: price } }] }, created: at });
    let type; let object; let at = created;
    if (roll < 40) { type = 'customer.subscription.updated'; object = subscription(created); }
    else if (roll < 65) { type = 'invoice.paid'; object = { id: `in_${seq}`, object: 'invoice', customer: c.cus }; }
    else if (roll < 80) { type = 'invoice.payment_failed'; object = { id: `in_${seq}`, object: 'invoice', customer: c.cus }; }
    else if (roll < 90) { type = 'customer.subscription.updated'; at = clock - 3600; object = subscription(at); }
    else { type = 'charge.succeeded'; object = { id: `ch_${seq}`, object: 'charge' }; }
    const event = { id: `evt_bench_${seq}`, object: 'event', api_version: '2024-06-20', created: at,
      livemode: false, pending_webhooks: 1, type, data: { object } };
    if (type !== 'charge.succeeded') handledIds.add(event.id);
    return { payload: JSON.stringify(event), replay: false };
  };

  const statParts = () => execFileSync('cat', [`/proc/${cdn.pid}/stat`]).toString().split(') ')[1].split(' ');
  const cpuBefore = statParts();
  const latencies = [];
  const statuses = {};
  const startAt = process.hrtime.bigint();
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = startAt + BigInt(Math.round((i * 1e9) / RATE));
    while (process.hrtime.bigint() < due) await new Promise((r) => setImmediate(r));
    const { payload, replay } = makeEvent();
    if (!replay) sent.push({ payload });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const t0 = process.hrtime.bigint();
    inflight.push(request(cdnPort, 'POST', '/api/v1/webhooks/stripe',
      { 'Content-Type': 'application/json', 'Stripe-Signature': header }, payload).then((res) => {
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }));
  }
  await Promise.all(inflight);
  const elapsed = Number(process.hrtime.bigint() - startAt) / 1e9;
  const cpuAfter = statParts();
  const ticks = (p) => Number(p[11]) + Number(p[12]);
  const cpuMs = ((ticks(cpuAfter) - ticks(cpuBefore)) * 1000) / 100; // USER_HZ = 100

  latencies.sort((a, b) => a - b);
  const rows = Number(sql('SELECT COUNT(*) FROM webhook_events')) - eventsBefore;
  console.log(`events sent: ${total} in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)}/s), ` +
    `${CUSTOMERS} customers, statuses ${JSON.stringify(statuses)}`);
  console.log(`latency ms: p50 ${percentile(latencies, 50).toFixed(2)}  p90 ${percentile(latencies, 90).toFixed(2)}  ` +
    `p99 ${percentile(latencies, 99).toFixed(2)}  max ${latencies.at(-1).toFixed(2)}`);
  console.log(`server CPU: ${(cpuMs * 1000 / total).toFixed(0)} µs per event`);
  console.log(`distinct handled event ids sent: ${handledIds.size}; webhook_events rows added: ${rows} ` +
    `(${rows === handledIds.size ? 'each applied once' : 'MISMATCH'}); customers linked: ${customers}`);
  if (rows !== handledIds.size) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
