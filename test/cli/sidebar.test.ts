import { describe, expect, it } from 'vitest'
import { printable, renderSidebar, useColor, width } from '../../src/cli/sidebar.js'

const ALICE = {
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  fields: { mrr: 149, company: 'Acme Inc', active: true },
}

describe('renderSidebar', () => {
  it('draws name, email, plan badge and fields, with no escape codes when colour is off', () => {
    const text = renderSidebar(ALICE, { color: false })
    expect(text).not.toContain('\x1b')
    expect(text.split('\n')).toEqual([
      '┌──────────────────────────────┐',
      '│ Alice Johnson                │',
      '│ alice@example.com            │',
      '│ [pro]                        │',
      '│                              │',
      '│ mrr      149                 │',
      '│ company  Acme Inc            │',
      '│ active   true                │',
      '└──────────────────────────────┘',
    ])
  })

  it('paints the plan as a coloured badge when colour is on', () => {
    const text = renderSidebar(ALICE, { color: true })
    expect(text).toContain('\x1b[97;44m pro \x1b[0m')
    expect(text).toContain('\x1b[1mAlice Johnson\x1b[0m')
  })

  it('says so when the profile is empty', () => {
    expect(renderSidebar({}, { color: false })).toContain('│ Talki shows no customer data │')
  })

  it('shows control characters from the endpoint instead of obeying them', () => {
    expect(printable('a\x1b[2Jb\n')).toBe('a\\x1b[2Jb\\x0a')
    expect(renderSidebar({ name: 'x\x1b[31m' }, { color: false })).not.toContain('\x1b')
  })
})

describe('useColor', () => {
  it('colours only a terminal without NO_COLOR', () => {
    expect(useColor({}, { isTTY: true })).toBe(true)
    expect(useColor({}, { isTTY: false })).toBe(false)
    expect(useColor({}, {})).toBe(false)
    expect(useColor({ NO_COLOR: '1' }, { isTTY: true })).toBe(false)
    expect(useColor({ NO_COLOR: '' }, { isTTY: true })).toBe(true)
  })
})

describe('width', () => {
  it('counts terminal columns: CJK and emoji two, combining marks none', () => {
    expect(width('abc')).toBe(3)
    expect(width('山田')).toBe(4)
    expect(width('🦊')).toBe(2)
    expect(width('👩🏽‍💻')).toBe(2)
    expect(width('e\u0301')).toBe(1)
    expect(width('✓')).toBe(1)
  })
})
