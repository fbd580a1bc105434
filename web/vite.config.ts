import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The dashboard: served by the API at `/`, so asset URLs are relative and nothing is
// fetched from a CDN at run time (fonts are the system's, charts are bundled).
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
