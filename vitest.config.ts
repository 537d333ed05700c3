import { defineConfig } from 'vitest/config'

// The test runner's config (the demo apps' Vite config is vite.config.ts).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'signaling/src/**/*.test.ts', 'bench/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // The 2-core CI machine: two workers keep both cores busy without thrashing.
    pool: 'forks',
    maxWorkers: 2,
  },
})
