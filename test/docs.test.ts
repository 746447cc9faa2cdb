import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './process.js'

// The README and every guide in docs/: each relative link reaches a file (and, with #anchor, a heading of
// it), and each shell block can be pasted as it is — placeholders are named variables, never `…` or <…>.

const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
]
const FENCE = /^( *)```(\w*)\n([\s\S]*?)^\1```$/gm

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
}

/** The text outside fenced blocks and inline code, where links are links. */
function prose(text: string): string {
  return text.replace(FENCE, '').replace(/`[^`\n]*`/g, '')
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const match of text.replace(FENCE, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = (match[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

function linksOf(text: string): string[] {
  return [...prose(text).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map((match) => match[1] ?? '')
}

function shellBlocks(text: string): string[] {
  return [...text.matchAll(FENCE)]
    .filter((match) => ['sh', 'bash', 'shell', 'console'].includes(match[2] ?? ''))
    .map((match) => match[3] ?? '')
}

describe('docs', () => {
  it('covers the README and the guides', () => {
    expect(FILES).toContain('README.md')
    expect(FILES).toContain('docs/integrators.md')
    expect(FILES.length).toBeGreaterThanOrEqual(14)
  })

  it('keeps the README at most 200 lines, with the set-up and test commands CI relies on', () => {
    const readme = read('README.md')
    expect(readme.split('\n').length).toBeLessThanOrEqual(200)
    expect(readme).toContain('npm ci && npm start')
    expect(readme).toContain('npm test')
    expect(readme).toContain('npm run test:quick')
  })

  for (const file of FILES) {
    it(`${file}: every relative link resolves, anchors included`, () => {
      const broken: string[] = []
      for (const link of linksOf(read(file))) {
        if (/^[a-z][a-z+.-]*:/i.test(link)) continue // http:, https:, mailto:
        const [path = '', anchor] = link.split('#')
        const target = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path))
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(ROOT, target)}`)
          continue
        }
        if (
          anchor !== undefined &&
          !(statSync(target).isFile() && anchorsOf(readFileSync(target, 'utf8')).has(anchor))
        ) {
          broken.push(`${link}: no heading #${anchor} in ${relative(ROOT, target)}`)
        }
      }
      expect(broken).toStrictEqual([])
    })

    it(`${file}: every shell block can be pasted as it is`, () => {
      const placeholders = shellBlocks(read(file)).flatMap((block) =>
        block
          .split('\n')
          .filter((line) => line.includes('…') || /<[a-z][\w -]*>/i.test(line.replace(/#.*$/, ''))),
      )
      expect(placeholders).toStrictEqual([])
    })
  }

  it('reads anchors as GitHub makes them', () => {
    expect([
      ...anchorsOf(
        '# A `b` c\n## Your database: PostgreSQL\n## From copy to "ready for Talki"\n## A `b` c\n',
      ),
    ]).toStrictEqual(['a-b-c', 'your-database-postgresql', 'from-copy-to-ready-for-talki', 'a-b-c-1'])
  })
})
