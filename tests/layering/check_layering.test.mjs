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
  assert.deepEqual([...allowed.get('cache')], ['storage']);
  assert.equal(allowed.get('app'), null);
  assert.ok(allowed.get('edge').has('transform'));
  assert.ok(!allowed.get('edge').has('api'));
  assert.ok(!allowed.get('api').has('edge'));
});

test('each kind of violation is reported with its file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layering-'));
  try {
    mkdirSync(join(dir, 'docs'));
    cpSync(join(repo, 'docs/architecture.md'), join(dir, 'docs/architecture.md'));
    const put = (path, text) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    put('src/core/ok.h', '#include "core/result.h"\n');
    put('src/transform/up.cpp', '#include <string>\n#include "cache/cache_key.h"\n');
    put('src/edge/side.cpp', '#include "api/api.h"\n');
    put('src/api/backend.cpp', '#include "storage/local_blob_store.h"\n');
    put('src/cache/engine.cpp', '#include <vips/vips8>\n');
    put('src/extra/x.cpp', '\n');
    const found = violations(dir);
    assert.equal(found.length, 5, found.join('\n'));
    assert.match(found.join('\n'), /src\/transform\/up\.cpp:2: transform may not include cache\/cache_key\.h/);
    assert.match(found.join('\n'), /src\/edge\/side\.cpp:1: edge may not include api\/api\.h/);
    assert.match(found.join('\n'), /src\/api\/backend\.cpp:1: only app\/ wires the concrete backend/);
    assert.match(found.join('\n'), /src\/cache\/engine\.cpp:1: only transform\/ includes <vips\/vips8>/);
    assert.match(found.join('\n'), /src\/extra: a module missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
