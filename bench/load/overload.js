// Closed-loop load for the overload figures: CONNECTIONS clients on keep-alive connections,
// each sending its next request when the last is answered, every request a distinct `v` (a
// miss). Latency is kept per status, so the 503s and the served requests are told apart.
// A client answered 503 waits its Retry-After first (RETRY_AFTER=0: it asks again at once).
// Usage: node overload.js URL CONNECTIONS SECONDS  -> one line of JSON
'use strict';
const http = require('node:http');

const [url, connections, seconds] = process.argv.slice(2);
const honourRetryAfter = process.env.RETRY_AFTER !== '0';
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) });
const sep = url.includes('?') ? '&' : '?';
let until = 0; // set once every connection is open
const latencies = {}; // status -> [ms]
// The same for requests asked STEADY_MS or later into the run (2000 by default): the sustained
// overload, once the first burst (admitted whole, docs/edge-policy.md) and the first refused
// clients' return (Retry-After: 1) are behind.
const steadyMs = Number(process.env.STEADY_MS || 2000);
const steadyLatencies = {};
let began = 0;
// SLOW_MS=N: every answer slower than N ms goes to stderr with when it was asked (ms into the
// run), to see where a tail comes from.
const slowMs = Number(process.env.SLOW_MS || 0);
// Distinct from every earlier run's, so that no request is a cache hit.
const run = `${process.pid}-${Date.now().toString(36)}`;
let counter = 0;

function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.get(`${url}${sep}v=ol-${run}-${++counter}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const askedAt = Date.now() - began - ms;
        (latencies[res.statusCode] ||= []).push(ms);
        if (askedAt >= steadyMs) (steadyLatencies[res.statusCode] ||= []).push(ms);
        if (slowMs && ms > slowMs) {
          console.error(`slow ${res.statusCode} asked at ${askedAt.toFixed(0)} ms: ${ms.toFixed(0)} ms`);
        }
        resolve(Number(res.headers['retry-after'] || 0));
      });
    });
    req.on('error', () => { (latencies.error ||= []).push(0); resolve(1); });
  });
}

// Every connection is opened first with one request to /livez (not counted), so that
// the figures are the overload's and not 64 TCP connects made at once by this one process on
// the server's cores (before, every first-burst answer took 15-60 ms here while the server's
// access log gave it under 0.3 ms).
function open() {
  return new Promise((resolve) => {
    const req = http.get(new URL('/livez', url), { agent }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
  });
}

async function client() {
  while (Date.now() < until) {
    const retryAfter = await once();
    if (retryAfter > 0 && honourRetryAfter) {
      await new Promise((r) => setTimeout(r, Math.min(retryAfter * 1000, until - Date.now())));
    }
  }
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

(async () => {
  await Promise.all(Array.from({ length: Number(connections) }, open));
  began = Date.now();
  until = began + Number(seconds) * 1000;
  await Promise.all(Array.from({ length: Number(connections) }, client));
  const summary = (byStatus) => {
    const out = {};
    for (const [status, values] of Object.entries(byStatus)) {
      values.sort((a, b) => a - b);
      out[status] = { n: values.length, p50: quantile(values, 0.5), p99: quantile(values, 0.99),
                      within10: values.filter((v) => v <= 10).length };
    }
    return out;
  };
  const out = summary(latencies);
  out.steady = summary(steadyLatencies);
  console.log(JSON.stringify(out));
  agent.destroy();
})();
