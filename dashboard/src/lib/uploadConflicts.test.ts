import { describe, expect, it } from 'vitest';
import { findConflicts, freePath, resolveConflicts } from './uploadConflicts';

const stored = new Set(['a.jpg', 'a-2.jpg', 'dir/b.png', 'noext']);
const exists = async (p: string) => stored.has(p);
const entry = (path: string) => ({ file: new Blob(['x']), name: path, path });

describe('upload conflicts', () => {
  it('splits a batch into new and existing paths', async () => {
    const { fresh, existing } = await findConflicts([entry('a.jpg'), entry('new.jpg')], exists);
    expect(fresh.map((e) => e.path)).toEqual(['new.jpg']);
    expect(existing.map((e) => e.path)).toEqual(['a.jpg']);
  });

  it('finds a free name beside the extension, skipping stored and reserved ones', async () => {
    expect(await freePath('a.jpg', new Set(), exists)).toBe('a-3.jpg');
    expect(await freePath('dir/b.png', new Set(['dir/b-2.png']), exists)).toBe('dir/b-3.png');
    expect(await freePath('noext', new Set(), exists)).toBe('noext-2');
  });

  it('replaces, keeps both or skips', async () => {
    const fresh = [entry('new.jpg')];
    const existing = [entry('a.jpg'), entry('dir/b.png')];
    expect((await resolveConflicts(fresh, existing, 'skip', exists)).map((e) => e.path)).toEqual(['new.jpg']);
    expect((await resolveConflicts(fresh, existing, 'replace', exists)).map((e) => e.path)).toEqual(['new.jpg', 'a.jpg', 'dir/b.png']);
    expect((await resolveConflicts(fresh, existing, 'keep-both', exists)).map((e) => e.path)).toEqual(['new.jpg', 'a-3.jpg', 'dir/b-2.png']);
  });
});
