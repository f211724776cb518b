/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The UI is served from any prefix (e.g. /stemtrace/), so every asset URL is relative.
// `npm run dev` proxies the API to a running server (STEMTRACE_URL, default http://127.0.0.1:8000/stemtrace).
const target = process.env.STEMTRACE_URL ?? "http://127.0.0.1:8000/stemtrace";

export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "../stemtrace/server/ui_dist",
    emptyOutDir: true,
  },
  server: {
    proxy: {
      "/api": { target, changeOrigin: true, ws: true },
      "/ws": { target, changeOrigin: true, ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "happy-dom",
  },
});
