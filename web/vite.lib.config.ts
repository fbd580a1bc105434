import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The embeddable usage tracker as a library: dist-lib/usage-tracker.js (ES module).
// React stays a peer: the host app brings its own.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist-lib",
    emptyOutDir: true,
    lib: { entry: "src/tracker/index.ts", formats: ["es"], fileName: () => "usage-tracker.js" },
    rollupOptions: { external: ["react", "react-dom", "react/jsx-runtime"] },
  },
});
