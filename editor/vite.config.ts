/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The API serves the built editor at `/` from src/flomation/api/static/editor.
// `base: './'` keeps asset URLs relative, so the same build works under any mount path
// (routing is hash-based for the same reason: no server-side fallback is needed).
export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: '../src/flomation/api/static/editor',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: {
      '/api': process.env.FLOMATION_API ?? 'http://127.0.0.1:8080',
      '/hooks': process.env.FLOMATION_API ?? 'http://127.0.0.1:8080',
      '/healthz': process.env.FLOMATION_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
