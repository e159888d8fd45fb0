import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['kubemu-source'] },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: ['test/docker/**', '**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        // The docker runtime (docker compose); skipped with a message where no engine runs.
        extends: true,
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 1_200_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
