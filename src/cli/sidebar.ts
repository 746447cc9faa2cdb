import type { Profile } from '../contract/profile.js'

// The operator's ticket sidebar, drawn in a terminal: name as the header, email, plan as a coloured
// badge, then `fields` as a key/value list — the vendor page's description of what Talki shows.

/** Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function useColor(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true
}

const RESET = '\x1b[0m'
const BOLD = '\x1b[1m'
const DIM = '\x1b[2m'

/** Badge colours for the common plan names; anything else gets a stable colour from its name. */
const PLAN_COLOURS: Record<string, string> = {
  free: '\x1b[30;47m',
  trial: '\x1b[30;43m',
  starter: '\x1b[30;46m',
  basic: '\x1b[30;46m',
  pro: '\x1b[97;44m',
  business: '\x1b[97;45m',
  team: '\x1b[97;45m',
  enterprise: '\x1b[97;41m',
}
const OTHER_COLOURS = ['\x1b[30;42m', '\x1b[30;46m', '\x1b[97;45m', '\x1b[30;43m', '\x1b[97;44m']

function planColour(plan: string): string {
  const known = PLAN_COLOURS[plan.toLowerCase()]
  if (known) return known
  let hash = 0
  for (const ch of plan) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0
  return OTHER_COLOURS[hash % OTHER_COLOURS.length] ?? ''
}

/** Text from the endpoint is untrusted: control characters (ANSI escapes included) are shown, not obeyed. */
export function printable(text: string, max = 60): string {
  let clean = ''
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f)
    clean += control ? `\\x${code.toString(16).padStart(2, '0')}` : ch
  }
  const graphemes = graphemesOf(clean)
  return graphemes.length > max ? `${graphemes.slice(0, max - 1).join('')}…` : clean
}

/** Printable ASCII: one character is one grapheme and one column, no segmenter needed. */
const PLAIN = /^[\x20-\x7e]*$/
let segmenter: Intl.Segmenter | undefined

/** Made on first use: creating it loads ICU's break rules (~20 ms), which an ASCII profile never needs. */
function graphemesOf(text: string): string[] {
  if (PLAIN.test(text)) return [...text]
  segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' })
  return Array.from(segmenter.segment(text), (part) => part.segment)
}
const WIDE =
  /[\p{Emoji_Presentation}\u1100-\u115f\u2e80-\u303e\u3041-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]|\p{Extended_Pictographic}\ufe0f/u
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}]+$/u

/** Terminal columns: CJK and emoji take two, combining marks none, so the box's right edge lines up. */
export function width(text: string): number {
  if (PLAIN.test(text)) return text.length
  let columns = 0
  for (const segment of graphemesOf(text)) {
    columns += WIDE.test(segment) ? 2 : ZERO.test(segment) ? 0 : 1
  }
  return columns
}

type Line = { plain: string; styled: string }

/** The sidebar as lines of text, boxed. With `color` false the output holds no escape sequence at all. */
export function renderSidebar(profile: Profile, options: { color: boolean }): string {
  const paint = (style: string, text: string) => (options.color ? `${style}${text}${RESET}` : text)
  const lines: Line[] = []
  const add = (plain: string, styled = plain) => lines.push({ plain, styled })

  const name = profile.name === undefined ? '(no name)' : printable(profile.name)
  add(name, paint(profile.name === undefined ? DIM : BOLD, name))
  if (profile.email !== undefined) add(printable(profile.email))
  if (profile.plan !== undefined) {
    const plan = printable(profile.plan, 30)
    if (options.color) add(` ${plan} `, paint(planColour(profile.plan), ` ${plan} `))
    else add(`[${plan}]`)
  }
  const entries = Object.entries(profile.fields ?? {})
  if (entries.length > 0) {
    add('')
    const keyWidth = Math.min(24, Math.max(...entries.map(([key]) => width(printable(key, 24)))))
    for (const [key, value] of entries) {
      const k = printable(key, 24)
      const v = printable(String(value), 40)
      const pad = ' '.repeat(Math.max(0, keyWidth - width(k)))
      add(`${k}${pad}  ${v}`, `${paint(DIM, k)}${pad}  ${v}`)
    }
  }
  if (profile.name === undefined && lines.length === 1)
    add('Talki shows no customer data', paint(DIM, 'Talki shows no customer data'))

  const inner = Math.max(28, ...lines.map((line) => width(line.plain)))
  const top = `┌${'─'.repeat(inner + 2)}┐`
  const bottom = `└${'─'.repeat(inner + 2)}┘`
  const body = lines.map((line) => `│ ${line.styled}${' '.repeat(inner - width(line.plain))} │`)
  return [top, ...body, bottom].join('\n')
}
