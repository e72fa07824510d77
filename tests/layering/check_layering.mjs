// The module layering of docs/architecture.md, enforced: every `#include "m/..."` under src/<x>/
// must name x itself, core, or a module the table in docs/architecture.md lets x use; third-party
// engines stay inside their module; only app/ includes a concrete backend; src/x/CMakeLists.txt
// links exactly the modules of x's row (they make x's include root, cmake/Modules.cmake, so the
// compiler refuses the others too). The table is read from the document, so the document, the
// build and the code cannot drift apart. Node (already needed by the
// dashboard) rather than Python, which a fresh Debian machine may lack.
// Usage: node tests/layering/check_layering.mjs [repo root]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2] ?? new URL('../..', import.meta.url).pathname;

/** module → set of modules it may include (null: everything), from the architecture table. */
export function allowedFromTable(markdown) {
  const allowed = new Map();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // | module | what it owns | may use (besides core) |
    if (cells.length < 5 || !/^[a-z]+$/.test(cells[1]) || cells[1] === 'module') continue;
    const uses = cells[3];
    if (uses === 'everything') {
      allowed.set(cells[1], null);
      continue;
    }
    const names = uses.split(';')[0].split(',').map((s) => s.trim()).filter((s) => /^[a-z]+$/.test(s));
    allowed.set(cells[1], new Set(names));
  }
  return allowed;
}

/** Third-party headers (by prefix of the `<...>` name) and the only module that may include them. */
const ENGINES = [
  ['vips/', 'transform'],
  ['sqlite3.h', 'db'],
  ['libpq-fe.h', 'db'],
  ['hiredis/', 'kv'],
];

/** Concrete backends: wired by app/ only (and used inside their own module). */
const BACKENDS = ['storage/local_blob_store.h', 'storage/s3_blob_store.h', 'db/sqlite_database.h', 'db/sqlite_connection.h', 'db/postgres_database.h', 'db/postgres_connection.h', 'kv/memory_kv_store.h'];

/** The modules that src/<module>/CMakeLists.txt links in its `cdn_module(... DEPS ...)` call,
 *  core and itself left out; null when the module has no CMakeLists.txt (not built yet). */
export function linkedModules(repo, module, modules) {
  const path = join(repo, 'src', module, 'CMakeLists.txt');
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8').replace(/#.*$/gm, '');
  const call = text.match(/\bcdn_module\(([^)]*)\)/);
  const deps = call?.[1].split(/\bDEPS\b/)[1] ?? '';
  const linked = [...deps.matchAll(/\bcdn_([a-z]+)\b/g)].map((m) => m[1]);
  return new Set(linked.filter((m) => modules.has(m) && m !== 'core' && m !== module));
}

/** Differences between a module's row in the table and the modules its CMakeLists.txt links. */
function linkViolations(repo, module, may, modules) {
  const linked = linkedModules(repo, module, modules);
  if (linked === null || may === null) return [];
  const cmake = `src/${module}/CMakeLists.txt`;
  const found = [];
  const table = 'docs/architecture.md';
  for (const dep of linked) {
    if (!may.has(dep)) found.push(`${cmake}: links cdn_${dep}, which ${table} does not let ${module} use`);
  }
  for (const dep of may) {
    if (!linked.has(dep)) found.push(`${cmake}: does not link cdn_${dep}, which ${table} lets ${module} use`);
  }
  return found;
}

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(h|hpp|cpp|cc)$/.test(name)) yield path;
  }
}

export function violations(repo) {
  const allowed = allowedFromTable(readFileSync(join(repo, 'docs/architecture.md'), 'utf8'));
  const modules = new Set(allowed.keys());
  const found = [];
  for (const module of readdirSync(join(repo, 'src'))) {
    if (!statSync(join(repo, 'src', module)).isDirectory()) continue;
    if (!modules.has(module)) {
      found.push(`src/${module}: a module missing from docs/architecture.md's table`);
      continue;
    }
    const may = allowed.get(module);
    found.push(...linkViolations(repo, module, may, modules));
    for (const file of sourceFiles(join(repo, 'src', module))) {
      const where = relative(repo, file);
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const project = line.match(/^\s*#\s*include\s+"([a-z_]+)\/([^"]+)"/);
        if (project) {
          const [, dep] = project;
          const header = `${dep}/${project[2]}`;
          if (modules.has(dep) && dep !== module && dep !== 'core' && may !== null && !may.has(dep)) {
            found.push(`${where}:${i + 1}: ${module} may not include ${header} (docs/architecture.md)`);
          }
          if (BACKENDS.includes(header) && module !== dep && module !== 'app') {
            found.push(`${where}:${i + 1}: only app/ wires the concrete backend ${header}`);
          }
        }
        const system = line.match(/^\s*#\s*include\s+<([^>]+)>/);
        if (system) {
          for (const [prefix, owner] of ENGINES) {
            if (system[1].startsWith(prefix) && module !== owner) {
              found.push(`${where}:${i + 1}: only ${owner}/ includes <${system[1]}>`);
            }
          }
        }
      });
    }
  }
  if (allowed.get('edge')?.has('api') || allowed.get('api')?.has('edge')) {
    found.push('docs/architecture.md: edge and api must never include each other');
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = violations(root);
  for (const v of found) console.error(v);
  console.log(found.length === 0 ? 'layering: every include follows docs/architecture.md' : `layering: ${found.length} violation(s)`);
  process.exit(found.length === 0 ? 0 : 1);
}
