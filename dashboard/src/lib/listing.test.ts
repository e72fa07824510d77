import { describe, expect, it } from 'vitest';
import { splitListing } from './listing';
import { sameOriginUploadUrl } from './upload';

const img = (path: string) => ({ path, size: 1, width: 1, height: 1, format: 'png', etag: 'e' });

describe('folder browsing', () => {
  it('shows the next segment as folders and the rest as images', () => {
    const { folders, images } = splitListing('', [img('a.jpg'), img('products/x.jpg'), img('products/y/z.jpg'), img('banners/b.png')]);
    expect(folders).toEqual(['banners/', 'products/']);
    expect(images.map((i) => i.path)).toEqual(['a.jpg']);
    const inner = splitListing('products/', [img('products/x.jpg'), img('products/y/z.jpg')]);
    expect(inner.folders).toEqual(['products/y/']);
    expect(inner.images.map((i) => i.path)).toEqual(['products/x.jpg']);
  });
});

describe('upload URLs', () => {
  it('uses the page’s origin for this server’s own upload URLs', () => {
    expect(sameOriginUploadUrl('http://127.0.0.1:8080/api/v1/uploads/ut_abc', 'http://localhost:8080')).toBe('/api/v1/uploads/ut_abc');
    expect(sameOriginUploadUrl('https://bucket.s3.example.com/pk/a.jpg?X-Amz-Signature=1', 'http://localhost')).toBe(
      'https://bucket.s3.example.com/pk/a.jpg?X-Amz-Signature=1',
    );
  });
});
