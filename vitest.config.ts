import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    // the js gemm backend ships its kernel to workers as source text; coverage instrumentation would break it
    coverage: { enabled: false },
  },
});
