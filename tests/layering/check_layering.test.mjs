// The layering check passes on this tree and fails on each kind of violation it exists for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedFromTable, violations } from './check_layering.mjs';

const repo = new URL('../..', import.meta.url).pathname;

test('this tree follows docs/architecture.md', () => {
  assert.deepEqual(violations(repo), []);
});

test('the table is read from the document', () => {
  const allowed = allowedFromTable(readFileSync(join(repo, 'docs/architecture.md'), 'utf8'));
  assert.deepEqual([...allowed.get('cache')], []);
  assert.deepEqual([...allowed.get('billing')].sort(), ['account', 'db', 'usage']);
  assert.equal(allowed.get('app'), null);
  assert.ok(allowed.get('edge').has('transform'));
  assert.ok(!allowed.get('edge').has('api'));
  assert.ok(!allowed.get('api').has('edge'));
});

/** The violations found in a tree made of this repo's docs/architecture.md and `files`
 *  (path → text), in a temporary folder. */
function violationsIn(files) {
  const dir = mkdtempSync(join(tmpdir(), 'layering-'));
  try {
    mkdirSync(join(dir, 'docs'));
    cpSync(join(repo, 'docs/architecture.md'), join(dir, 'docs/architecture.md'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return violations(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('each kind of violation is reported with its file and line', () => {
  const found = violationsIn({
    'src/core/ok.h': '#include "core/result.h"\n',
    'src/transform/up.cpp': '#include <string>\n#include "cache/cache_key.h"\n',
    'src/edge/side.cpp': '#include "api/api.h"\n',
    'src/api/backend.cpp': '#include "storage/local_blob_store.h"\n',
    'src/cache/engine.cpp': '#include <vips/vips8>\n',
    'src/extra/x.cpp': '\n',
  });
  assert.equal(found.length, 5, found.join('\n'));
  assert.match(found.join('\n'), /src\/transform\/up\.cpp:2: transform may not include cache\/cache_key\.h/);
  assert.match(found.join('\n'), /src\/edge\/side\.cpp:1: edge may not include api\/api\.h/);
  assert.match(found.join('\n'), /src\/api\/backend\.cpp:1: only app\/ wires the concrete backend/);
  assert.match(found.join('\n'), /src\/cache\/engine\.cpp:1: only transform\/ includes <vips\/vips8>/);
  assert.match(found.join('\n'), /src\/extra: a module missing/);
});

test('a CMakeLists.txt that links more or fewer modules than its row is reported', () => {
  // cache may use nothing but core; usage may use db; billing's links match its row.
  const found = violationsIn({
    'src/cache/CMakeLists.txt':
      '# cdn_edge in a comment is no link\ncdn_module(cache\n  SOURCES a.cpp\n  DEPS cdn_core cdn_storage Boost::json)\n',
    'src/usage/CMakeLists.txt': 'cdn_module(usage SOURCES a.cpp DEPS cdn_core Threads::Threads)\n',
    'src/billing/CMakeLists.txt': 'cdn_module(billing SOURCES a.cpp DEPS cdn_core cdn_usage cdn_db cdn_account)\n',
  });
  assert.equal(found.length, 2, found.join('\n'));
  assert.match(found.join('\n'), /src\/cache\/CMakeLists\.txt: links cdn_storage, which docs\/architecture\.md does not let cache use/);
  assert.match(found.join('\n'), /src\/usage\/CMakeLists\.txt: does not link cdn_db, which docs\/architecture\.md lets usage use/);
});
