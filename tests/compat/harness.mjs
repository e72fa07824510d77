// The real binary on loopback for the compat test: a temporary data dir, a pro customer made
// with the CLI (with a custom domain, as a site that moved its image host to us has), camera-like
// originals in the local store, and a GET that keeps the Host header a client would send.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import sharp from 'sharp';

// Real photographs from Debian's mate-backgrounds (scripts/setup.sh installs it).
const PHOTOS = '/usr/share/backgrounds/mate/nature';

export const CUSTOM_DOMAIN = 'images.example.com';

/** The originals the URLs ask for: path in the customer's namespace → size as displayed. */
export const ORIGINALS = {
  // As published on a site: a 2560×1600 JPEG, no EXIF orientation.
  landscape: { path: 'photos/ladybird.jpg', width: 2560, height: 1600 },
  // As a phone writes it: 4032×3024 pixels stored sideways with EXIF Orientation 6, so it is
  // displayed (and must be served) as a 3024×4032 portrait.
  portrait: { path: 'camera/IMG_0042.JPG', width: 3024, height: 4032 },
};

/** `imagecdn customer create --plan pro`'s public key, with CUSTOM_DOMAIN mapped to it. */
function createCustomer(binary, dataDir) {
  const common = ['--data-dir', dataDir];
  const out = execFileSync(binary, ['customer', 'create', ...common, '--email',
                                    'compat@example.com', '--plan', 'pro'], { encoding: 'utf8' });
  const { public_key: publicKey } = JSON.parse(out);
  execFileSync(binary, ['customer', 'domains', ...common, publicKey, CUSTOM_DOMAIN]);
  return publicKey;
}

async function putOriginals(dataDir, publicKey) {
  const root = join(dataDir, 'originals', publicKey);
  const landscape = join(root, ORIGINALS.landscape.path);
  mkdirSync(dirname(landscape), { recursive: true });
  copyFileSync(join(PHOTOS, 'LadyBird.jpg'), landscape);

  const portrait = join(root, ORIGINALS.portrait.path);
  mkdirSync(dirname(portrait), { recursive: true });
  await sharp(join(PHOTOS, 'Garden.jpg'))
    .resize(4032, 3024, { fit: 'cover' })
    .withExif({ IFD0: { Make: 'Apple', Model: 'iPhone 13' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toFile(portrait);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** GET `target` (path and query, as built) from 127.0.0.1:`port` with `headers`; the body is
 *  a Buffer. */
export function get(port, target, headers) {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: target, headers, agent: false };
    const req = http.get(options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                    body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

async function waitHealthy(server, port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && server.exitCode === null) {
    const res = await get(port, '/healthz', {}).catch(() => null);
    if (res?.status === 200) {
      return;
    }
    await delay(50); // polling interval, not synchronisation
  }
  throw new Error(`imagecdn did not become healthy on port ${port}`);
}

/** Starts `binary serve` with a fresh data dir; `await stop()` ends it and removes the dir. */
export async function startServer(binary) {
  const dataDir = mkdtempSync(join(tmpdir(), 'imagecdn-compat-'));
  const publicKey = createCustomer(binary, dataDir);
  await putOriginals(dataDir, publicKey);
  const port = await freePort();
  const errLog = join(dataDir, 'server.err');
  const server = spawn(binary, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`],
                       { env: { ...process.env, IMAGECDN_LOG_LEVEL: 'warn' },
                         stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  server.stderr.on('data', (c) => stderr.push(c));
  // Waits for the server to exit before removing its folder: a clean stop writes the disk
  // cache's index there. SIGKILL after 10 s.
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const stop = async () => {
    server.kill('SIGTERM');
    const killer = setTimeout(() => server.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(killer);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', () => server.kill('SIGKILL')); // also when the test run itself fails
  try {
    await waitHealthy(server, port, 20000);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n${Buffer.concat(stderr)}`);
  }
  return { port, publicKey, stop, stderr: () => Buffer.concat(stderr).toString() };
}

/** The binary: the CTest passes it; by hand, CDN_BIN or the default build. */
export function binaryPath() {
  const bin = process.argv[2] || process.env.CDN_BIN ||
              new URL('../../build/imagecdn', import.meta.url).pathname;
  if (!existsSync(bin)) {
    throw new Error(`no imagecdn binary at ${bin} (build it, or pass its path)`);
  }
  return bin;
}
