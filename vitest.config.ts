import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The kernel-oracle tests share global kernel state (nf_conntrack_max); they serialize themselves.
    fileParallelism: true,
  },
});
