import { existsSync, readFileSync } from 'node:fs'
import axe from 'axe-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SCENARIO_NAMES } from '../../../src/mock/simulation/scenarios.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { sign } from '../../../src/template/signature.js'
import { requiredTool } from '../../../support/required.js'
import { CHROMIUM, launchChromium } from '../../browser.js'
import { post, postToken } from '../../process.js'
import { type Stack, startStack, TEST_SECRET } from '../../support.js'

// The dashboard in Debian's headless Chromium, against the whole stack served in this process. Every
// check that something happened on the endpoint is made over the wire with node:http, not in the page.

const HAS_CHROMIUM = requiredTool(
  "the dashboard's browser tests",
  existsSync(CHROMIUM) ? undefined : CHROMIUM,
  'apt-get install -y chromium fonts-noto-color-emoji',
)

const SEED = JSON.parse(readFileSync(new URL('../../../data/seed.json', import.meta.url), 'utf8')) as {
  users: UserRecord[]
}
const ADMIN_TOKEN = 'dashboard-admin-token-42'
const WAIT = { timeout: 5000 }

let browser: Browser

interface Opened {
  page: Page
  context: BrowserContext
  /** Every URL the page asked for. */
  requests: string[]
  /** Uncaught errors in the page. */
  errors: string[]
}

async function open(
  stack: Stack,
  options: { waitReady?: boolean; routes?: (page: Page) => Promise<unknown> } = {},
): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  page.setDefaultTimeout(5000)
  const requests: string[] = []
  const errors: string[] = []
  page.on('request', (request) => requests.push(request.url()))
  page.on('pageerror', (error) => errors.push(error.message))
  await options.routes?.(page)
  await page.goto(stack.adminUrl)
  if (options.waitReady !== false) await page.waitForSelector('body[data-ready="true"]', WAIT)
  return { page, context, requests, errors }
}

async function admin(stack: Stack, method: string, path: string, token?: string) {
  const res = await fetch(new URL(path, stack.adminUrl), {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

async function answer(stack: Stack, token: string) {
  const wire = await postToken(stack.endpointUrl, token, { timeoutMs: 3000 })
  if (wire.kind !== 'response') throw new Error(`no answer from the endpoint: ${wire.kind}`)
  return { status: wire.status, body: wire.body ? JSON.parse(wire.body) : null }
}

async function selectUser(page: Page, token: string) {
  await page.locator('#search').fill(token)
  await page.locator(`.user-row[data-token="${token}"]`).click()
  await page.locator('#selected-token', { hasText: token }).waitFor(WAIT)
}

describe.runIf(HAS_CHROMIUM)('dashboard in headless Chromium', () => {
  let stack: Stack
  let opened: Opened | undefined

  beforeAll(async () => {
    ;[browser, stack] = await Promise.all([launchChromium(), startStack()])
  })
  afterAll(async () => {
    await browser?.close()
    await stack?.close()
  })
  beforeEach(async () => {
    expect((await admin(stack, 'POST', '/api/reset')).status).toBe(204)
  })
  afterEach(async () => {
    await opened?.context.close()
    opened = undefined
  })

  it('loads from 127.0.0.1 only and shows the seeded users and a switch for every scenario', async () => {
    opened = await open(stack)
    const { page, requests, errors } = opened

    for (const name of SCENARIO_NAMES) {
      await expect(page.getByRole('radio', { name: new RegExp(`^${name} `) }).count()).resolves.toBe(1)
    }
    await expect(page.locator('#page-info').textContent()).resolves.toContain(`of ${SEED.users.length}`)
    await expect(page.locator('.user-row[data-token="usr_abc123"] .user-name').textContent()).resolves.toBe(
      'Alice Johnson',
    )
    // Which users carry a scenario, at a glance.
    await expect(page.locator('.user-row[data-token="usr_slow"] .badge.sim').textContent()).resolves.toBe(
      '⚡ slow 6000 ms',
    )
    await expect(page.locator('.user-row[data-token="usr_abc123"] .badge.sim').count()).resolves.toBe(0)
    await expect(page.locator('#override-state').textContent()).resolves.toContain('No global override')

    const origin = new URL(stack.adminUrl).origin
    expect(requests.length).toBeGreaterThan(3)
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([])
    expect(errors).toEqual([])
  })

  it('renders hostile and unicode records as text', async () => {
    const hostile = '<img src=x onerror="window.__owned=1">'
    const put = await fetch(new URL('/api/users/usr_hostile', stack.adminUrl), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: hostile,
        plan: '<b>pro</b>',
        fields: { '<i>k</i>': '<script>x</script>' },
      }),
    })
    expect(put.status).toBe(201)
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_hostile')
    await expect(page.locator('#preview .panel-name').textContent()).resolves.toBe(hostile)
    await expect(page.locator('#preview dt').textContent()).resolves.toBe('<i>k</i>')
    await expect(page.locator('img, b, i, script:not([src])').count()).resolves.toBe(0)
    await expect(page.evaluate(() => (globalThis as { __owned?: number }).__owned)).resolves.toBeUndefined()

    const unicode = SEED.users.find((user) => user.userToken === 'usr_unicode')
    await selectUser(page, 'usr_unicode')
    await expect(page.locator('#preview .panel-name').textContent()).resolves.toBe(unicode?.name)
    await expect(page.locator('#preview .badge.plan').textContent()).resolves.toBe(unicode?.plan)
  })

  it('switches a global scenario and the endpoint follows; clearing it restores the answer', async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_abc123')
    await expect(page.locator('#effect').textContent()).resolves.toBe(
      'Talki would show this — no scenario applies',
    )

    await page.locator('.switch[data-scenario="error"]').click()
    await page.locator('#p-status').selectOption('503')
    await page.getByRole('button', { name: 'Apply to every request' }).click()
    await page.locator('#override-state', { hasText: 'ON: error 503' }).waitFor(WAIT)
    await expect(page.locator('#effect').textContent()).resolves.toContain('Talki would skip')
    await expect(answer(stack, 'usr_abc123')).resolves.toMatchObject({ status: 503 })

    await page.getByRole('button', { name: 'Clear override' }).click()
    await page.locator('#override-state', { hasText: 'No global override' }).waitFor(WAIT)
    await expect(answer(stack, 'usr_abc123')).resolves.toMatchObject({
      status: 200,
      body: { name: 'Alice Johnson' },
    })
  })

  it('follows the active override: no card selected and no form while none is applied, its card and values when one is', async () => {
    opened = await open(stack)
    const { page } = opened
    await page.locator('#override-state', { hasText: 'No global override' }).waitFor(WAIT)
    await expect(page.locator('.switch.selected').count()).resolves.toBe(0)
    await expect(page.locator('#switches input:checked').count()).resolves.toBe(0)
    await expect(page.locator('#apply').isVisible()).resolves.toBe(false)

    const put = await fetch(new URL('/api/simulation', stack.adminUrl), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'slow', delayMs: 4500 }),
    })
    expect(put.status).toBe(200)
    await page.reload()
    await page.locator('#override-state', { hasText: 'ON:' }).waitFor(WAIT)
    await expect(page.locator('.switch.selected').getAttribute('data-scenario')).resolves.toBe('slow')
    await expect(page.locator('#p-delayMs').inputValue()).resolves.toBe('4500')
    await expect(page.locator('#apply').isVisible()).resolves.toBe(true)
  })

  it('has no axe-core violations (WCAG 2 A/AA, 2.1 AA, best practice), with a user selected and an override on', async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_abc123')
    await page.locator('.switch[data-scenario="error"]').click()
    await page.getByRole('button', { name: 'Apply to every request' }).click()
    await page.locator('#override-state', { hasText: 'ON:' }).waitFor(WAIT)
    await page.evaluate(axe.source)
    const violations = await page.evaluate(async () => {
      const run = (globalThis as unknown as { axe: typeof axe }).axe.run
      const result = await run(
        {
          include: [['html']],
        },
        {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
        },
      )
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    })
    expect(violations).toStrictEqual([])
  })

  it('shows the API validation errors of an override inline and changes nothing', async () => {
    opened = await open(stack)
    const { page } = opened
    await page.locator('.switch[data-scenario="slow"]').click()
    await page.locator('#p-delayMs').fill('700000')
    await page.getByRole('button', { name: 'Apply to every request' }).click()
    await page.locator('#override-errors li', { hasText: 'delayMs' }).waitFor(WAIT)
    await expect(admin(stack, 'GET', '/api/simulation')).resolves.toMatchObject({ body: { override: null } })
  })

  it('builds the scenario forms from GET /api/scenarios: a default changed there shows in the form and the model', async () => {
    const changeDefaults = (page: Page) =>
      page.route('**/api/scenarios', async (route) => {
        const catalogue = (await (await route.fetch()).json()) as {
          scenarios: Array<{ name: string; parameters: Array<{ name: string; default?: unknown }> }>
        }
        const param = (scenario: string, name: string) => {
          const found = catalogue.scenarios
            .find((s) => s.name === scenario)
            ?.parameters.find((p) => p.name === name)
          if (!found) throw new Error(`no ${scenario}.${name} in GET /api/scenarios`)
          return found
        }
        param('slow', 'delayMs').default = 4321
        param('error', 'status').default = 502
        param('hang', 'maxMs').default = 2500
        await route.fulfill({ json: catalogue })
      })
    opened = await open(stack, { routes: changeDefaults })
    const { page } = opened

    await page.locator('.switch[data-scenario="slow"]').click()
    await expect(page.locator('#p-delayMs').inputValue()).resolves.toBe('4321')
    await expect(page.locator('#p-delayMs').getAttribute('max')).resolves.toBe('600000')
    await page.locator('.switch[data-scenario="error"]').click()
    await expect(page.locator('#p-status option:checked').textContent()).resolves.toBe('502 (default)')
    await expect(page.locator('#p-status option').allTextContents()).resolves.toEqual([
      '500',
      '502 (default)',
      '503',
      '504',
    ])
    await page.locator('.switch[data-scenario="flaky"]').click()
    await expect(page.locator('#p-failWith option:checked').textContent()).resolves.toBe(
      'error 503 (default)',
    )
    await expect(page.locator('#p-windowMs').inputValue()).resolves.toBe('10000')
    await expect(page.locator('#limits').isVisible()).resolves.toBe(true)
    await page.locator('.switch[data-scenario="down"]').click()
    await expect(page.locator('#limits').isVisible()).resolves.toBe(false)
    // usr_hang's own scenario is the bare "hang": the model fills it from the same catalogue.
    await selectUser(page, 'usr_hang')
    await expect(page.locator('#effect').textContent()).resolves.toContain(
      'connection closed after 2.5 s without an answer',
    )
    // What the form shows is what it sends.
    await page.locator('.switch[data-scenario="slow"]').click()
    await page.getByRole('button', { name: 'Apply to every request' }).click()
    await page.locator('#override-state', { hasText: 'ON: slow 4321 ms' }).waitFor(WAIT)
    await expect(admin(stack, 'GET', '/api/simulation')).resolves.toMatchObject({
      body: { override: { scenario: 'slow', delayMs: 4321 } },
    })
    expect(opened.errors).toEqual([])
  })

  it("counts a downtime down from the server's downUntil and says what Talki meets meanwhile", async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_abc123')
    // usr_down's own scenario: its request is reset and the port closes for 10 s.
    const wire = await postToken(stack.endpointUrl, 'usr_down', { timeoutMs: 3000 })
    expect(wire.kind).not.toBe('response')
    const { body } = await admin(stack, 'GET', '/api/simulation')
    expect(Date.parse(body.downUntil) - Date.now()).toBeGreaterThan(5000)
    const pill = page.locator('#endpoint-status', { hasText: 'Endpoint down, back in' })
    await pill.waitFor(WAIT)
    const left = async () => Number(/back in (\d+) s/.exec((await pill.textContent()) ?? '')?.[1])
    const first = await left()
    expect(first).toBeGreaterThanOrEqual(5)
    expect(first).toBeLessThanOrEqual(10)
    await expect(pill.textContent()).resolves.toContain('a user’s own down')
    await expect(page.locator('#effect').textContent()).resolves.toContain('connection refused (port closed)')
    await page.waitForTimeout(2100)
    expect(await left()).toBeLessThan(first)

    // The downtime ends (reset): the pill and the sidebar follow.
    expect((await admin(stack, 'POST', '/api/reset')).status).toBe(204)
    await page.locator('#endpoint-status', { hasText: 'No global scenario' }).waitFor(WAIT)
    await page.locator('#effect', { hasText: 'Talki would show this — no scenario applies' }).waitFor(WAIT)
  })

  it('previews the sidebar and dims it when the scenario that applies leaves the operator nothing', async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_abc123')
    const preview = page.locator('#preview')
    await expect(preview.locator('.panel-name').textContent()).resolves.toBe('Alice Johnson')
    await expect(preview.locator('.panel-email').textContent()).resolves.toBe('alice@example.com')
    await expect(preview.locator('.badge.plan').textContent()).resolves.toBe('pro')
    await expect(preview.locator('dt').allTextContents()).resolves.toEqual([
      'mrr',
      'company',
      'signedUpAt',
      'seats',
    ])
    await expect(preview.getAttribute('data-sees')).resolves.toBe('profile')
    await expect(preview.locator('.panel-note').count()).resolves.toBe(0)

    await selectUser(page, 'usr_error')
    await expect(preview.getAttribute('data-sees')).resolves.toBe('nothing')
    await expect(preview.locator('.panel-note').textContent()).resolves.toContain(
      'the operator sees no customer data',
    )
    await expect(page.locator('#effect').textContent()).resolves.toBe(
      "Talki would skip: its attempt and its retry after 3 s both meet 503 simulated_error — the user's own scenario: error 503",
    )
    await selectUser(page, 'usr_flaky')
    await expect(preview.getAttribute('data-sees')).resolves.toBe('profile')
    await expect(page.locator('#effect').textContent()).resolves.toMatch(
      /^Talki would retry after 3 s and then show this/,
    )
  })

  it('saves an edited user: the preview and the endpoint show the new name', async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_ok')
    const editor = page.getByLabel('User record (JSON)')
    const record = JSON.parse(await editor.inputValue()) as UserRecord
    expect(record.userToken).toBe('usr_ok')
    await editor.fill(JSON.stringify({ ...record, name: 'Olivia Edited ✓' }, null, 2))
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.locator('#preview .panel-name', { hasText: 'Olivia Edited ✓' }).waitFor(WAIT)
    await expect(answer(stack, 'usr_ok')).resolves.toMatchObject({
      status: 200,
      body: { name: 'Olivia Edited ✓' },
    })
  })

  it('refuses invalid JSON and invalid records inline and saves nothing', async () => {
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_slow_ok')
    const before = await admin(stack, 'GET', '/api/users/usr_slow_ok')
    const editor = page.getByLabel('User record (JSON)')
    const errors = page.locator('#editor-errors')

    await editor.fill('{"userToken": "usr_slow_ok", "name": ')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await errors.getByText('Not valid JSON').waitFor(WAIT)

    await editor.fill(
      JSON.stringify({ userToken: 'usr_slow_ok', name: 'Changed', plan: 5, fields: { a: {} } }),
    )
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await errors.locator('li', { hasText: 'plan' }).waitFor(WAIT)
    await expect(errors.textContent()).resolves.toContain('fields.a')
    await expect(errors.textContent()).resolves.toContain('Nothing was saved')

    await expect(admin(stack, 'GET', '/api/users/usr_slow_ok')).resolves.toEqual(before)
    await expect(page.locator('#preview .panel-name').textContent()).resolves.toBe('Sally Slow')
  })

  it('creates a user from the editor and deletes it after a confirm', async () => {
    opened = await open(stack)
    const { page } = opened
    await page.getByRole('button', { name: '+ New user' }).click()
    await page
      .getByLabel('User record (JSON)')
      .fill(JSON.stringify({ userToken: 'usr_dash_new', name: 'Nora New', plan: 'enterprise' }))
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.locator('#editor-saved', { hasText: 'Created usr_dash_new' }).waitFor(WAIT)
    await expect(answer(stack, 'usr_dash_new')).resolves.toMatchObject({
      status: 200,
      body: { name: 'Nora New' },
    })

    const dialogs: string[] = []
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.accept()
    })
    await page.getByRole('button', { name: 'Delete user' }).click()
    await page.locator('#no-selection').waitFor({ state: 'visible', ...WAIT })
    expect(dialogs).toEqual(['Delete user usr_dash_new? The endpoint will answer 404 for it.'])
    await expect(answer(stack, 'usr_dash_new')).resolves.toMatchObject({ status: 404 })
  })

  it("'Reset + seed users' puts back the seed's users after a confirm", async () => {
    const seeded = SEED.users.find((user) => user.userToken === 'usr_ok')
    const put = await fetch(new URL('/api/users/usr_ok', stack.adminUrl), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Changed Before Reset' }),
    })
    expect(put.status).toBe(200)
    opened = await open(stack)
    const { page } = opened
    await selectUser(page, 'usr_ok')
    await expect(page.locator('#preview .panel-name').textContent()).resolves.toBe('Changed Before Reset')
    const dialogs: string[] = []
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.accept()
    })
    await page.getByRole('button', { name: 'Reset + seed users' }).click()
    await page.locator('#preview .panel-name', { hasText: seeded?.name ?? '?' }).waitFor(WAIT)
    expect(dialogs[0]).toContain('put back the users of data/seed.json')
    await expect(admin(stack, 'GET', '/api/users/usr_ok')).resolves.toMatchObject({ body: seeded })
  })

  it('shows each endpoint call live: status, verdict, budget, and why a signature failed', async () => {
    opened = await open(stack)
    const { page } = opened
    await page.locator('#stream-state', { hasText: 'live' }).waitFor(WAIT)
    await expect(answer(stack, 'usr_abc123')).resolves.toMatchObject({ status: 200 })
    const ok = page.locator('.entry[data-token="usr_abc123"]').first()
    await ok.waitFor(WAIT)
    await expect(ok.locator('.badge.status').textContent()).resolves.toBe('200')
    await expect(ok.textContent()).resolves.toContain('signature valid')
    await expect(ok.textContent()).resolves.toMatch(/\d+ ms of 5 s/)

    // Signed with a newline appended (echo rather than printf), sent without it.
    const body = JSON.stringify({ userToken: 'usr_abc123' })
    await post(stack.endpointUrl, body, { signature: sign(TEST_SECRET, `${body}\n`) })
    const bad = page.locator('.entry[data-token="usr_abc123"]', { hasText: 'does not match' })
    await bad.waitFor(WAIT)
    await expect(bad.locator('.badge.status').textContent()).resolves.toBe('401')
    await expect(bad.locator('.finding').textContent()).resolves.toContain('newline added at the end')
    // Newest first.
    await expect(page.locator('.entry').first().textContent()).resolves.toContain('does not match')

    // Entries from another replica (REDIS_URL mode) say which one served them.
    await expect(page.locator('.entry .badge.replica').count()).resolves.toBe(0)

    await page.getByRole('button', { name: 'Clear', exact: true }).click()
    await page.locator('#log-empty').waitFor({ state: 'visible', ...WAIT })
    await expect(admin(stack, 'GET', '/api/requests')).resolves.toMatchObject({ body: { requests: [] } })
  })
  it('shows the replica of an entry when the log carries one', async () => {
    const withReplica = (page: Page) =>
      page.route('**/api/requests?limit=100', (route) =>
        route.fulfill({
          json: {
            requests: [
              {
                id: 9001,
                time: new Date().toISOString(),
                token: 'usr_abc123',
                verdict: 'valid',
                findings: null,
                scenario: null,
                status: 200,
                latencyMs: 3.2,
                callerGaveUpMs: null,
                sincePreviousMs: null,
                replica: 'replica-b:4242',
              },
            ],
          },
        }),
      )
    opened = await open(stack, { routes: withReplica })
    const { page } = opened
    await expect(page.locator('.entry[data-id="9001"] .badge.replica').textContent()).resolves.toBe(
      'replica-b:4242',
    )
  })

  it('shows the embedded engines in the header', async () => {
    opened = await open(stack)
    await expect(opened.page.locator('#engines').textContent()).resolves.toBe(
      'users: JSON file · state: in memory (this process)',
    )
  })

  it('shows PostgreSQL, shared Redis and the replica in the header when GET /api/engines says so', async () => {
    const replicated = (page: Page) =>
      page.route('**/api/engines', (route) =>
        route.fulfill({
          json: {
            users: 'postgres',
            state: 'redis',
            replica: 'r1',
            labels: { users: 'PostgreSQL', state: 'Redis, shared by replicas' },
          },
        }),
      )
    opened = await open(stack, { routes: replicated })
    await expect(opened.page.locator('#engines').textContent()).resolves.toBe(
      'users: PostgreSQL · state: Redis, shared by replicas · replica r1',
    )
  })
})

describe.runIf(HAS_CHROMIUM)('dashboard with ADMIN_TOKEN', () => {
  let stack: Stack

  beforeAll(async () => {
    ;[browser, stack] = await Promise.all([launchChromium(), startStack({ adminToken: ADMIN_TOKEN })])
  })
  afterAll(async () => {
    await browser?.close()
    await stack?.close()
  })

  it('asks for the token once, keeps it for the tab, and then everything works', async () => {
    const { page, context } = await open(stack, { waitReady: false })
    try {
      const dialog = page.getByRole('dialog', { name: 'Admin token' })
      await dialog.waitFor(WAIT)
      await page.getByRole('textbox', { name: 'Token' }).fill('not-the-token')
      await page.getByRole('button', { name: 'Unlock' }).click()
      await dialog.getByText('That token was refused').waitFor(WAIT)
      await page.getByRole('textbox', { name: 'Token' }).fill(ADMIN_TOKEN)
      await page.getByRole('button', { name: 'Unlock' }).click()
      await page.waitForSelector('body[data-ready="true"]', WAIT)
      await expect(dialog.isVisible()).resolves.toBe(false)
      await page.locator('.user-row[data-token="usr_abc123"]').waitFor(WAIT)

      // The stream carries the token as ?token=, since EventSource cannot send headers.
      await page.locator('#stream-state', { hasText: 'live' }).waitFor(WAIT)
      await expect(answer(stack, 'usr_abc123')).resolves.toMatchObject({ status: 200 })
      await page.locator('.entry[data-token="usr_abc123"]').waitFor(WAIT)

      // Kept for the tab: a reload asks nothing, and no call is refused.
      const refused: string[] = []
      page.on('response', (response) => {
        if (response.status() === 401) refused.push(response.url())
      })
      await page.reload()
      await page.waitForSelector('body[data-ready="true"]', WAIT)
      await page.locator('#stream-state', { hasText: 'live' }).waitFor(WAIT)
      expect(refused).toEqual([])
      await expect(dialog.isVisible()).resolves.toBe(false)
    } finally {
      await context.close()
    }
  })
})
