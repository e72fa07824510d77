/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { precompress } from './scripts/precompress.mjs';

// The binary serves the build at /dashboard/ (src/http/static_site.cpp); `npm run dev` proxies
// the API and the edge to a server on 127.0.0.1:8080 (DASHBOARD_DEV_API overrides; not an IMAGECDN_ variable, which the binary would refuse).
const api = process.env.DASHBOARD_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/dashboard/',
  plugins: [react(), precompress()],
  build: {
    target: 'es2022',
    // Every asset is a file (no data: URIs), hashed, under assets/ (served immutable).
    assetsInlineLimit: 0,
    // Chromium, Firefox and Safari support <link rel="modulepreload">.
    modulePreload: { polyfill: false },
    manifest: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api': api,
      '^/pk_': api,
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
