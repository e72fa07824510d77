import type { Image } from '../api/client';

/** Folders (the next path segment) and images directly in `prefix`, from listed paths. */
export function splitListing(prefix: string, items: Image[]): { folders: string[]; images: Image[] } {
  const folders = new Set<string>();
  const images: Image[] = [];
  for (const item of items) {
    const rest = item.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) folders.add(prefix + rest.slice(0, slash + 1));
    else images.push(item);
  }
  return { folders: [...folders].sort(), images };
}
