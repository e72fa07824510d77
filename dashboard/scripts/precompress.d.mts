import type { Plugin } from 'vite';

export function precompress(): Plugin;
export function precompressDir(dir: string): Promise<number>;
