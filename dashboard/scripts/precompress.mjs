// A Vite plugin: writes .gz and .br beside each compressible file of the build, so the binary
// (src/http/static_site.cpp) serves them to clients that accept them without compressing at run
// time. Only files where compression pays are kept.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|webmanifest)$/;
const MIN_BYTES = 1024;

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) yield* files(path);
    } else if (COMPRESSIBLE.test(entry.name)) {
      yield path;
    }
  }
}

export async function precompressDir(dir) {
  let count = 0;
  for await (const path of files(dir)) {
    const data = await readFile(path);
    if (data.length < MIN_BYTES) continue;
    const gz = gzipSync(data, { level: 9 });
    const br = brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    if (gz.length < data.length * 0.9) await writeFile(`${path}.gz`, gz);
    if (br.length < data.length * 0.9) await writeFile(`${path}.br`, br);
    count++;
  }
  return count;
}

export function precompress() {
  let outDir = 'dist';
  return {
    name: 'imagecdn-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      await precompressDir(outDir);
    },
  };
}
