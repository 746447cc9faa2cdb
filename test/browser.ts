import { type Browser, chromium } from 'playwright-core'

// Debian's Chromium, headless, as root and without the background connections this closed network
// refuses. Shared by the dashboard's browser tests and scripts/screenshot.ts.

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 15_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}
