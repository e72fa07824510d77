// Helpers for the browser tests: the fake Stripe, axe-core, screenshots, layout checks.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO } from '../scripts/lib/imagecdn.mjs';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS || join(REPO, 'build', 'dashboard', 'screenshots');
export const FAKE_STRIPE_DIR = join(REPO, 'tests', 'fake_stripe');
export const WIDE = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Starts tests/fake_stripe/server.mjs (its dependencies installed with npm ci when missing);
 * null when it is not in the tree.
 */
export async function startFakeStripe({ webhookUrl, webhookSecret, secretKey }) {
  const script = join(FAKE_STRIPE_DIR, 'server.mjs');
  if (!existsSync(script)) return null;
  if (!existsSync(join(FAKE_STRIPE_DIR, 'node_modules')) && existsSync(join(FAKE_STRIPE_DIR, 'package-lock.json'))) {
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: FAKE_STRIPE_DIR, stdio: 'inherit' });
    if (npm.status !== 0) return null;
  }
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      PORT: '0',
      FAKE_STRIPE_WEBHOOK_URL: webhookUrl,
      FAKE_STRIPE_WEBHOOK_SECRET: webhookSecret,
      FAKE_STRIPE_SECRET_KEY: secretKey,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fake stripe did not start: ${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake stripe exited ${code}: ${stderr}`));
    });
  });
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        let timer;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      }
    },
  };
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does
 * not govern) and returns the serious and critical violations.
 */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function formatViolations(violations) {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n');
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The page's document width: wider than the viewport means a horizontal scroll bar. */
export function scrollWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

/**
 * Resolves once the page has drawn its last change: fonts loaded, no finite animation or
 * transition running (spinners loop forever and are left out), then two painted frames.
 */
export async function settled(page) {
  await page.waitForFunction(() =>
    document.getAnimations().every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().iterations === Infinity));
  await page.evaluate(async () => {
    await document.fonts.ready;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
}

/** Waits are multiplied by this (3 in the sanitizer build, dashboard/CMakeLists.txt). */
const WAIT_SCALE = Number(process.env.E2E_WAIT_SCALE ?? 1) || 1;

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeoutMs` (times
 *  WAIT_SCALE). */
export async function eventually(fn, { timeoutMs = 15000, intervalMs = 200, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs * WAIT_SCALE;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/**
 * At 1280 and 390 px: axe (no serious or critical violations), no horizontal scroll at 390 px,
 * and a screenshot `${name}-${width}.png`. `ready` runs after each resize; `axeCounts` (if
 * given) gets the number of violations per page and width.
 */
export async function checkPage(page, name, { ready, axeCounts } = {}) {
  for (const viewport of [WIDE, PHONE]) {
    await page.setViewportSize(viewport);
    if (ready) await ready();
    await settled(page);
    const violations = await axeViolations(page);
    if (axeCounts) axeCounts[`${name}-${viewport.width}`] = violations.length;
    assert.equal(violations.length, 0, `${name} at ${viewport.width} px:\n${formatViolations(violations)}`);
    if (viewport === PHONE) {
      const width = await scrollWidth(page);
      assert.ok(width <= PHONE.width, `${name}: document is ${width} px wide at 390 px`);
    }
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${viewport.width}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDE);
}

/** Resolves once `server` (startImagecdn's) holds no usage counts it has not written (its
 *  /metrics gauge). */
export async function usageWritten(server) {
  const secret = readFileSync(join(server.dataDir, 'internal_secret'), 'utf8').trim();
  await eventually(async () => {
    const res = await fetch(`${server.origin}/metrics`, { headers: { Authorization: `Bearer ${secret}` } });
    return /^imagecdn_usage_pending_events 0$/m.test(await res.text());
  }, { message: 'every usage count written' });
}

/** A PNG made in memory (solid colour, w×h), for uploads that need no file on disk. */
export function solidPng(width, height, rgb = [79, 70, 229]) {
  const { deflateSync, crc32 } = require('node:zlib');
  const crc = (buf) => {
    if (crc32) return crc32(buf) >>> 0;
    let c;
    let crcValue = 0xffffffff;
    for (const byte of buf) {
      c = (crcValue ^ byte) & 0xff;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcValue = (crcValue >>> 8) ^ c;
    }
    return (crcValue ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
