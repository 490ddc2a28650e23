import { defineConfig } from "@playwright/test";

// The suite runs against a release build of the server on a fresh, temporary SQLite
// database. Chromium comes from the system (Debian's package), never from a download.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? "target/e2e-data";

export default defineConfig({
  testDir: "./tests",
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: [
      "../target/release/importops serve",
      `--listen 127.0.0.1:${port}`,
      `--public-url ${baseURL}`,
      `--data-dir ${dataDir}`,
      "--site-root ../target/site",
    ].join(" "),
    url: `${baseURL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      // Many sign-ups and sign-ins come from one address in a short time.
      IMPORTOPS_SIGN_UP_RATE_LIMIT: "10000/1m",
      IMPORTOPS_SIGN_IN_RATE_LIMIT: "10000/1m",
      // Short, so the suite sees sensitive actions ask for the password again.
      IMPORTOPS_SUDO_WINDOW: "3s",
      IMPORTOPS_LOG: "warn",
    },
  },
});
