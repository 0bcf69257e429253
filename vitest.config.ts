import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // One real Hazelcast member per run (Maven-fetched jar, loopback): test/global-setup.ts.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // chDB allows one engine per process: keep each test file in its own process.
    isolate: true,
  },
});
