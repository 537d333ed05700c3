import { defineConfig } from '@playwright/test'

/**
 * Multi-tab tests in headless Debian Chromium (/usr/bin/chromium; Playwright's
 * own browser download does not work here), against pages served by Vite.
 */
export const chromiumPath = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'
const port = Number(process.env.CONCORD_E2E_PORT ?? 5179)
export const signalingPort = Number(process.env.CONCORD_E2E_SIGNALING_PORT ?? 8797)

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  timeout: 60_000,
  workers: 2,
  reporter: process.env.CI ? 'line' : 'list',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  // Tests tagged @alone run after all the others, so that nothing shares the
  // two cores with them: a room of nine tabs under CPU starvation churns
  // elections (timers fire late) and can take minutes to shrink.
  projects: [
    { name: 'tabs', grepInvert: /@alone/ },
    { name: 'alone', grep: /@alone/, dependencies: ['tabs'] },
  ],
  webServer: [
    {
      command: `npx vite --config e2e/vite.config.ts --port ${port}`,
      cwd: '..',
      url: `http://127.0.0.1:${port}/solo.html`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // The real signaling server, with the development secret (GET /dev-token).
      command: `node signaling/bin/concord-signaling.mjs --port ${signalingPort}`,
      cwd: '..',
      url: `http://127.0.0.1:${signalingPort}/healthz`,
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
    },
  ],
})
