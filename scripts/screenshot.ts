// npm run screenshot: docs/dashboard.png, the dashboard as a QA engineer first sees it. Starts the whole
// stack in this process on free ports over a temp copy of the seed, plays a few requests the way Talki
// would (a success, a timeout, a flaky user and its retry, a bad signature), selects usr_abc123 and
// saves the picture. Needs Debian's chromium (apt-get install chromium fonts-noto-color-emoji).
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { TALKI_TIMEOUT_MS } from '../src/cli/talki.js'
import { sign } from '../src/template/signature.js'
import { CHROMIUM, launchChromium } from '../test/browser.js'
import { post, postToken, sleep } from '../test/process.js'
import { signedRequest, startStack, TEST_SECRET } from '../test/support.js'

const OUT = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url))

if (!existsSync(CHROMIUM)) {
  process.stderr.write(`No browser at ${CHROMIUM}: apt-get install -y chromium fonts-noto-color-emoji\n`)
  process.exit(1)
}

const stack = await startStack()
const browser = await launchChromium()
try {
  const url = stack.endpointUrl
  const talki = (token: string) => postToken(url, token, { timeoutMs: TALKI_TIMEOUT_MS })
  // Talki's way with a flaky user: the first attempt fails, the retry 3 s later gets the profile.
  const flaky = (async () => {
    await talki('usr_flaky')
    await sleep(3000)
    await talki('usr_flaky')
  })()
  await Promise.all([
    flaky,
    talki('usr_slow'), // 6 s: Talki gives up at 5 s
    talki('usr_slow_ok'), // 4.5 s: inside the budget
    talki('usr_not_found'),
    talki('usr_many_fields'),
    // Signed with `echo` (a newline added), sent without it: the log says so.
    post(url, signedRequest('usr_abc123').body, {
      signature: sign(TEST_SECRET, `${signedRequest('usr_abc123').body}\n`),
    }),
  ])
  await talki('usr_abc123')

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`))
  await page.goto(stack.adminUrl)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 })
  await page.locator('.user-row[data-token="usr_abc123"]').click()
  await page.getByText('Talki would show this').first().waitFor({ timeout: 5000 })
  // The scenario form shows `error` with its status picked, ready to apply.
  await page.getByRole('radio', { name: /^error/ }).check({ force: true })
  await page.locator('#p-status').selectOption('503')
  await page.locator('#log-list .entry').nth(7).waitFor({ timeout: 5000 })
  await mkdir(new URL('../docs/', import.meta.url), { recursive: true })
  await page.screenshot({ path: OUT })
  process.stdout.write(`wrote ${OUT}\n`)
} finally {
  await browser.close()
  await stack.close()
}
