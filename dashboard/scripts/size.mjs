#!/usr/bin/env node
// Prints the compressed size of the JavaScript a first visit downloads, and fails the build when
// it is over budget (dashboard.md: under 300 KB compressed).
//
//   node scripts/size.mjs [distDir] [--budget-kb 300] [--json]
//
// "First load" = what index.html references (the entry and its modulepreloads) plus, for each
// page, the lazily loaded chunks that page needs: the worst page is the figure that counts.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dist = resolve(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--budget')) ?? 'dist');
const budgetKb = Number(flag('--budget-kb') ?? 300);
const asJson = args.includes('--json');

const manifestPath = join(dist, '.vite', 'manifest.json');
if (!existsSync(manifestPath)) {
  console.error(`size: ${manifestPath} is missing (build with manifest: true)`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));

const sizes = new Map();
function sizeOf(file) {
  if (!sizes.has(file)) {
    const data = readFileSync(join(dist, file));
    sizes.set(file, {
      raw: data.length,
      gzip: gzipSync(data, { level: 9 }).length,
      brotli: brotliCompressSync(data).length,
    });
  }
  return sizes.get(file);
}

/** The JS files a manifest entry loads at once: itself and its static imports, recursively. */
function closure(key, seen = new Set()) {
  const chunk = manifest[key];
  if (!chunk || seen.has(chunk.file)) return seen;
  if (chunk.file.endsWith('.js')) seen.add(chunk.file);
  for (const imp of chunk.imports ?? []) closure(imp, seen);
  return seen;
}

function total(files) {
  const t = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) {
    const s = sizeOf(f);
    t.raw += s.raw;
    t.gzip += s.gzip;
    t.brotli += s.brotli;
  }
  return t;
}

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
if (!entryKey) {
  console.error('size: no entry in the manifest');
  process.exit(1);
}
const entryFiles = closure(entryKey);
const entry = total(entryFiles);

// Pages: the entry's dynamic imports (React.lazy) that live under src/pages/.
const pages = [];
for (const key of manifest[entryKey].dynamicImports ?? []) {
  if (!key.includes('src/pages/')) continue;
  const files = closure(key, new Set(entryFiles));
  const name = key.replace(/^.*src\/pages\//, '').replace(/\.tsx?$/, '');
  pages.push({ name, ...total(files) });
}
pages.sort((a, b) => b.gzip - a.gzip);
const worst = pages[0] ?? { name: '(none)', ...entry };

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const result = {
  entry_gzip_bytes: entry.gzip,
  entry_brotli_bytes: entry.brotli,
  entry_raw_bytes: entry.raw,
  worst_page: worst.name,
  worst_page_gzip_bytes: worst.gzip,
  budget_bytes: budgetKb * 1024,
  pages,
};
if (asJson) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log('dashboard first-load JavaScript (compressed, level 9 gzip / brotli):');
  console.log(`  entry (index.html + modulepreloads)  ${kb(entry.gzip)} gzip  ${kb(entry.brotli)} br  (${kb(entry.raw)} raw)`);
  for (const p of pages) {
    console.log(`  entry + ${p.name.padEnd(28)} ${kb(p.gzip)} gzip  ${kb(p.brotli)} br`);
  }
  console.log(`  budget ${budgetKb} KB gzip; heaviest first load: ${worst.name} ${kb(worst.gzip)}`);
}
if (worst.gzip > budgetKb * 1024) {
  console.error(`size: first load ${kb(worst.gzip)} is over the ${budgetKb} KB budget`);
  process.exit(1);
}
