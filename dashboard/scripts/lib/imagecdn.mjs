// Starts the real binary on a free loopback port with a temporary data directory, as the C++
// integration tests do (tests/support/server_process.cpp), and stops it by its pid.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The binary under test: $CDN_BIN (as the C++ tests), else build/imagecdn. Never an IMAGECDN_
 *  variable: the binary refuses unknown ones. */
export function imagecdnBinary() {
  return process.env.CDN_BIN || join(REPO, 'build', 'imagecdn');
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} o
 * @param {Record<string,string>} [o.env] IMAGECDN_* settings for this server
 * @param {string[]} [o.args] extra `serve` arguments
 * @param {number} [o.timeoutMs]
 * @param {number} [o.port] a port chosen beforehand (freePort), else a free one
 */
export async function startImagecdn({ env = {}, args = [], timeoutMs = 30000, port: wanted } = {}) {
  const bin = imagecdnBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'imagecdn-dash-'));
  const port = wanted ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  // Only the variables given here: a stray IMAGECDN_ variable of the caller could stop start-up.
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('IMAGECDN_')),
  );
  Object.assign(childEnv, { IMAGECDN_LOG_FORMAT: 'text', IMAGECDN_LOG_LEVEL: 'warn' }, env);
  const logPath = `${dataDir}.log`;
  const log = createWriteStream(logPath);
  const child = spawn(
    bin,
    ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...args],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited = null;
  const exit = new Promise((ok) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    ok(exited);
  }));
  child.on('error', (e) => {
    exited = { code: -1, signal: null, error: e };
  });

  const logs = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const cleanup = () => {
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(logPath, { force: true });
  };
  const stop = async () => {
    if (!exited) {
      process.kill(child.pid, 'SIGTERM');
      let timer;
      const killed = await Promise.race([exit, new Promise((r) => (timer = setTimeout(() => r(null), 15000)))]);
      clearTimeout(timer);
      if (!killed) {
        process.kill(child.pid, 'SIGKILL');
        await exit;
      }
    }
    cleanup();
    return exited;
  };

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      const text = logs();
      cleanup();
      throw new Error(`${bin} exited (${JSON.stringify(exited)}) before it was healthy:\n${text}`);
    }
    try {
      const res = await fetch(`${origin}/healthz`);
      if (res.ok) return { port, origin, pid: child.pid, dataDir, stop, logs };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  await stop();
  throw new Error(`${bin} was not healthy within ${timeoutMs} ms`);
}
