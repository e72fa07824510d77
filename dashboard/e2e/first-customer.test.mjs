// What a first-time customer trips over (issue 22), in Chromium against the real binary with no
// Stripe key configured (the state of a fresh self-hosted server). Each test failed before its
// fix.
//
//   node --test e2e/first-customer.test.mjs        (CTest: dashboard_e2e_first_customer)
//
// Env: as e2e/dashboard.test.mjs (CDN_BIN, DASHBOARD_DIST, DASHBOARD_SCREENSHOTS, CHROMIUM_PATH).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { startImagecdn } from '../scripts/lib/imagecdn.mjs';
import {
  CHROMIUM, SCREENSHOTS, WIDE, checkPage as checkPageAt, ensureDir, eventually, solidPng, usageWritten as usageWrittenBy,
} from './lib.mjs';

const EMAIL = `first-${Date.now()}@example.com`;
const PASSWORD = 'correct horse battery staple';
const PHOTO = '/usr/share/backgrounds/mate/abstract/Elephants.jpg';

/** A JPEG to upload with curl (Debian's mate-backgrounds, as e2e/dashboard.test.mjs uses). */
function sampleJpeg() {
  assert.ok(existsSync(PHOTO), `${PHOTO} is needed (Debian's mate-backgrounds)`);
  return readFileSync(PHOTO);
}

describe('a first-time customer (issue 22)', { concurrency: false }, () => {
  const problems = [];
  const axe = {};
  /** @type {Awaited<ReturnType<typeof startImagecdn>>} */
  let server;
  let browser;
  let page;
  let base;
  let publicKey;
  let apiKey;
  const work = mkdtempSync(join(tmpdir(), 'first-customer-'));

  before(async () => {
    ensureDir(SCREENSHOTS);
    // No IMAGECDN_STRIPE_*: billing is not configured on this server.
    const env = { IMAGECDN_USAGE_FLUSH_INTERVAL_MS: '200' };
    if (process.env.DASHBOARD_DIST) env.IMAGECDN_DASHBOARD_DIR = process.env.DASHBOARD_DIST;
    server = await startImagecdn({ env });
    base = server.origin;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const context = await browser.newContext({ viewport: WIDE });
    page = await context.newPage();
    page.setDefaultTimeout(20000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    console.log(`# axe (serious or critical violations per page and width): ${JSON.stringify(axe)}`);
  });

  const checkPage = (name) => checkPageAt(page, `first-${name}`, { axeCounts: axe });

  const usageWritten = () => usageWrittenBy(server);

  const api = (path, init = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { 'X-API-Key': apiKey, ...(init.headers ?? {}) } });
  const quota = async () => (await api('/api/v1/usage/quota')).json();
  const heading = (name) => page.getByRole('heading', { level: 1, name, exact: true });
  const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  /** Every thumbnail drawn: `count` of them, or any number but none. */
  const thumbsLoaded = (count) =>
    eventually(
      () => page.evaluate((n) => {
        const imgs = [...document.querySelectorAll('[data-testid=image-grid] img')];
        return (n === undefined ? imgs.length > 0 : imgs.length === n) && imgs.every((i) => i.complete && i.naturalWidth > 0);
      }, count),
      { timeoutMs: 30000, message: `${count ?? 'all'} thumbnails` },
    );
  /** Stores `path` through the API (for steps that need an image, whatever the UI does). */
  const putImage = (path, buffer) => api(`/api/v1/images/${path}`, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: buffer });
  const uploadStatuses = () =>
    page.locator('[data-testid=upload-item]').evaluateAll((items) =>
      items.map((li) => ({ path: li.querySelector('.name').textContent, status: li.dataset.status })));

  it('10. sign-up says the password rule once, then creates the account', async () => {
    await page.goto(`${base}/dashboard/signup`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('At least 10 characters (5 so far).').waitFor();
    const shown = await page.getByText(/At least 10 characters/).count();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading('Overview').waitFor();
    publicKey = await page.locator('#public-key').inputValue();
    assert.equal(shown, 1, 'the rule is shown once');
  });

  it('9. before the first upload, Overview and Images show a template URL', async () => {
    const template = `${base}/${publicKey}/your-image.jpg?w=800&format=auto`;
    await page.locator('#template-url').waitFor();
    assert.equal(await page.locator('#template-url').inputValue(), template);
    await nav('Images').click();
    await page.getByText('No images yet').waitFor();
    assert.equal(await page.locator('#template-url').inputValue(), template);
    await checkPage('images-empty');
  });

  it('8. "Choose files" shows a focus ring when tabbed to', async () => {
    await page.goto(`${base}/dashboard/images`);
    await page.locator('input[type=file]').waitFor({ state: 'attached' });
    await page.locator('body').focus();
    const onFileInput = () => page.evaluate(() => document.activeElement?.matches('input[type=file]'));
    for (let i = 0; i < 40 && !(await onFileInput()); i++) await page.keyboard.press('Tab');
    assert.ok(await onFileInput(), 'Tab reaches the file input');
    const ring = await page.locator('label', { hasText: 'Choose files' }).evaluate((label) => {
      const style = getComputedStyle(label);
      return { outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    assert.notEqual(ring.outline, 'none', 'the label shows the focus ring');
    assert.ok(ring.width >= 2, `outline ${ring.width} px`);
    await page.screenshot({ path: join(SCREENSHOTS, 'first-choose-files-focus-1280.png') });
  });

  it('9. a new API key comes with a curl upload that works as pasted', async () => {
    await nav('API keys').click();
    await heading('API keys').waitFor();
    await page.getByLabel('Name').fill('first script');
    await page.getByRole('button', { name: 'Create key' }).click();
    apiKey = await page.locator('#secret-once').inputValue();
    writeFileSync(join(work, 'your-image.jpg'), sampleJpeg());
    const command = await page.getByTestId('upload-command').textContent({ timeout: 5000 }).catch(() => '');
    if (!command) await putImage('your-image.jpg', sampleJpeg()); // what the later steps need
    assert.match(command, new RegExp(`X-API-Key: ${apiKey}`));
    await checkPage('keys-new');
    const run = spawnSync('sh', ['-c', `${command} --silent --show-error --fail-with-body`], { cwd: work, encoding: 'utf8' });
    assert.equal(run.status, 0, `curl: ${run.stderr}${run.stdout}`);
    assert.equal(JSON.parse(run.stdout).path, 'your-image.jpg');
    await page.getByRole('button', { name: 'I have saved it' }).click();
  });

  it('9. thumbnails carry a 2× source and use it on a 2× screen', async () => {
    await nav('Images').click();
    await thumbsLoaded(1);
    const img = page.locator('[data-testid=image-grid] img').first();
    assert.match(await img.getAttribute('srcset'), /\?w=480 2x$/);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: WIDE.width, height: WIDE.height, deviceScaleFactor: 2, mobile: false });
    try {
      await page.reload();
      await thumbsLoaded(1);
      const shown = await img.evaluate((i) => ({ src: i.currentSrc, width: i.naturalWidth }));
      assert.match(shown.src, /\?w=480$/);
      // naturalWidth is density-corrected: a 480 px file chosen as "2x" measures 240.
      assert.equal(shown.width, 240);
    } finally {
      await cdp.send('Emulation.clearDeviceMetricsOverride');
      await cdp.detach();
    }
  });

  it('5. uploading over an existing name asks first: one file, keep both', async () => {
    await page.goto(`${base}/dashboard/images`);
    await thumbsLoaded(1);
    const photo = readFileSync(join(work, 'your-image.jpg'));
    await page.locator('input[type=file]').setInputFiles([{ name: 'your-image.jpg', mimeType: 'image/jpeg', buffer: photo }]);
    const dialog = page.getByRole('dialog', { name: '“your-image.jpg” already exists' });
    await dialog.waitFor();
    assert.equal(await page.locator('[data-testid=upload-item]').count(), 0, 'nothing uploads before the answer');
    await checkPage('upload-conflict');
    await dialog.getByRole('button', { name: 'Keep both' }).click();
    await eventually(async () => {
      const s = await uploadStatuses();
      return s.length === 1 && s[0].path === 'your-image-2.jpg' && s[0].status === 'done';
    }, { timeoutMs: 30000, message: 'your-image-2.jpg uploaded' });
    await thumbsLoaded(2);
  });

  it('5. a batch with two existing names: skip keeps them, replace replaces them', async () => {
    const photo = readFileSync(join(work, 'your-image.jpg'));
    const batch = [
      { name: 'your-image.jpg', mimeType: 'image/png', buffer: solidPng(64, 48) },
      { name: 'your-image-2.jpg', mimeType: 'image/png', buffer: solidPng(64, 48) },
      { name: 'new.png', mimeType: 'image/png', buffer: solidPng(320, 200) },
    ];
    await page.goto(`${base}/dashboard/images`);
    await page.locator('input[type=file]').setInputFiles(batch);
    const dialog = page.getByRole('dialog', { name: '2 files already exist' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Skip' }).click();
    await eventually(async () => {
      const s = await uploadStatuses();
      return s.length === 1 && s[0].path === 'new.png' && s[0].status === 'done';
    }, { timeoutMs: 30000, message: 'only new.png uploaded' });
    const kept = await (await api('/api/v1/images/your-image.jpg')).json();
    assert.equal(kept.size, photo.length, 'the skipped file did not replace the image');
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.locator('input[type=file]').setInputFiles(batch.slice(0, 2));
    await page.getByRole('dialog', { name: '2 files already exist' }).getByRole('button', { name: 'Replace' }).click();
    await eventually(async () => {
      const s = await uploadStatuses();
      return s.length === 2 && s.every((x) => x.status === 'done');
    }, { timeoutMs: 30000, message: 'two replacements' });
    const replaced = await (await api('/api/v1/images/your-image.jpg')).json();
    assert.equal(replaced.width, 64);
  });

  it('4. the dashboard’s own previews are not metered; other traffic is', async () => {
    await usageWritten();
    const before = await quota();
    const cdp = await page.context().newCDPSession(page);
    for (let i = 0; i < 3; i++) {
      await cdp.send('Network.clearBrowserCache');
      await page.goto(`${base}/dashboard/images`);
      await thumbsLoaded();
    }
    await cdp.detach();
    await usageWritten();
    const afterPreviews = await quota();
    assert.equal(afterPreviews.requests, before.requests, 'previews added requests');
    assert.equal(afterPreviews.bandwidth_used, before.bandwidth_used, 'previews added bytes');
    // The same image fetched elsewhere (no dashboard session) is counted.
    const res = await fetch(`${base}/${publicKey}/your-image.jpg?w=240`);
    const body = await res.arrayBuffer();
    await usageWritten();
    const afterFetch = await quota();
    assert.equal(afterFetch.requests, before.requests + 1);
    assert.equal(afterFetch.bandwidth_used, before.bandwidth_used + body.byteLength);
  });

  it('6. Usage → Refresh also refreshes the quota card', async () => {
    await nav('Usage').click();
    await heading('Usage').waitFor();
    const card = page.getByRole('region', { name: 'Quota status' });
    const shown = async () => Number((await card.getByText(/requests this month/).textContent()).replace(/[^0-9]/g, ''));
    await card.getByText(/requests this month/).waitFor();
    const first = await shown();
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/${publicKey}/your-image.jpg?w=${50 + i}`)).arrayBuffer();
    await usageWritten();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    // Well before the card's own 30 s interval.
    await eventually(async () => (await shown()) === first + 3, { timeoutMs: 5000, message: `${first + 3} requests in the quota card` });
  });

  it('2. the URL builder with a preset leaves the preset’s fields to it', async () => {
    const put = await api('/api/v1/presets/thumb', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ options: 'w=300&h=200&fit=cover' }),
    });
    assert.ok(put.ok, `preset: ${put.status}`);
    assert.ok((await putImage('builder.jpg', sampleJpeg())).ok);
    await page.goto(`${base}/dashboard/images?path=builder.jpg`);
    const dialog = page.getByRole('dialog', { name: 'builder.jpg' });
    await dialog.getByLabel('Preset').selectOption('thumb');
    const url = dialog.locator('[data-testid=result-url]');
    await eventually(async () => (await url.inputValue()) === `${base}/${publicKey}/builder.jpg?preset=thumb&format=auto`,
      { message: 'the URL with the preset alone' });
    assert.equal(await dialog.getByLabel('Width (w)').inputValue(), '300');
    await dialog.getByText('Set by the preset “thumb”.').first().waitFor();
    await eventually(() => page.evaluate(() => {
      const img = document.querySelector('[data-testid=preview]');
      return img?.src.includes('preset=thumb') && img.complete && img.naturalWidth === 300 && img.naturalHeight === 200;
    }), { message: 'a 300 × 200 preview' });
    await dialog.getByLabel('Width (w)').fill('400');
    await eventually(async () => (await url.inputValue()).endsWith('?preset=thumb&w=400&format=auto'), { message: 'a changed width emitted' });
    await checkPage('builder-preset');
  });

  it('3. an invalid width leaves URL, preview and caption agreeing, and says the URL was not updated', async () => {
    await page.goto(`${base}/dashboard/images?path=builder.jpg`);
    const dialog = page.getByRole('dialog', { name: 'builder.jpg' });
    await dialog.getByLabel('Width (w)').fill('300');
    const caption = dialog.getByTestId('preview-size');
    await eventually(async () => /^Preview: 300 × \d+ px$/.test((await caption.textContent()).trim()), { message: 'a 300 px preview' });
    const url = await dialog.locator('[data-testid=result-url]').inputValue();
    assert.ok(url.endsWith('?w=300&format=auto'), url);
    await dialog.getByLabel('Width (w)').fill('5000');
    await dialog.getByText(/The URL was not updated\./).waitFor();
    assert.equal(await dialog.locator('[data-testid=result-url]').inputValue(), url);
    assert.match((await caption.textContent()).trim(), /^Preview: 300 × \d+ px$/);
    await checkPage('builder-invalid');
    await page.keyboard.press('Escape');
  });

  it('7. an upload error is one sentence, its code behind a details toggle', async () => {
    await page.goto(`${base}/dashboard/images`);
    await thumbsLoaded();
    await page.locator('input[type=file]').setInputFiles([
      { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('This is a text file, not a JPEG.\n'.repeat(200)) },
    ]);
    const error = page.locator('.upload-error');
    await error.waitFor({ timeout: 30000 });
    const text = await error.innerText();
    assert.equal(text.match(/not an image/gi)?.length, 1, text);
    assert.doesNotMatch(text, /unsupported_media_type/);
    await error.getByText('Details').click();
    assert.match(await error.innerText(), /unsupported_media_type/);
  });

  it('1. billing without Stripe says it is not set up and offers no upgrade', async () => {
    await nav('Billing').click();
    await heading('Billing').waitFor();
    await page.getByText('Billing is not set up on this server').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Upgrade to Pro' }).isDisabled(), true);
    await checkPage('billing-not-configured');
  });

  it('1. a real outage (502 billing_unavailable) still says to try again', async () => {
    const plans = await (await fetch(`${base}/api/v1/billing/plans`)).json();
    await page.route('**/api/v1/billing/plans', (route) =>
      route.fulfill({ json: { ...plans, billing_enabled: true } }));
    await page.route('**/api/v1/billing/checkout', (route) =>
      route.fulfill({ status: 502, json: { error: { code: 'billing_unavailable', message: 'stripe timed out' } } }));
    try {
      await page.reload();
      await page.getByRole('button', { name: 'Upgrade to Pro' }).click();
      await page.getByText('Our payment provider cannot be reached right now').waitFor();
    } finally {
      await page.unroute('**/api/v1/billing/plans');
      await page.unroute('**/api/v1/billing/checkout');
    }
  });

  it('10. the Free plan’s over-quota rule is not shown as a missing feature', async () => {
    await page.reload();
    const rule = page.locator('[data-plan=free] li', { hasText: 'Over quota' });
    assert.equal(await rule.getByText('(not included)').count(), 0);
    assert.notEqual(await rule.getAttribute('class'), 'no');
  });

  it('10. allowed domains refuse a bare name and explain a bare "*."', async () => {
    await nav('Settings').click();
    await heading('Settings').waitFor();
    const domains = page.getByLabel('Allowed domains', { exact: true });
    await domains.fill('example');
    await domains.press('Enter');
    await page.getByText('Enter the full domain, like example.com.').waitFor();
    assert.equal(await page.getByRole('list', { name: 'Allowed domains' }).getByText('example', { exact: true }).count(), 0);
    await domains.fill('*.');
    await domains.press('Enter');
    await page.getByText('Add the domain after "*.", like *.example.com.').waitFor();
  });

  it('10. preset errors list every problem with the plan’s limit', async () => {
    const form = page.getByRole('region', { name: 'Presets' }).getByRole('form', { name: 'New preset' });
    await form.getByLabel('Name').fill('big');
    await form.getByLabel('Options').fill('w=5000&h=abc&fit=bogus');
    await form.getByRole('button', { name: 'Create preset' }).click();
    const error = form.locator('.field-error');
    await error.waitFor();
    const text = await error.textContent();
    assert.match(text, /Width must be at most 2048 px on your plan \(w=5000\)\./);
    assert.match(text, /Height must be a whole number of pixels, at least 1 \(h=abc\)\./);
    assert.match(text, /Fit must be one of/);
    assert.doesNotMatch(text, /8192/);
    await checkPage('settings-errors');
  });

  it('7. a wrong password says so once', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/dashboard/login');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong password!!');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Wrong email or password' });
    await alert.waitFor();
    assert.equal((await alert.innerText()).trim(), 'Wrong email or password.');
    await checkPage('login-error');
  });

  it('had no CSP violation and no script error', () => {
    assert.deepEqual(problems, []);
  });
});
