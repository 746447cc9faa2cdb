import { describe, expect, it } from 'vitest'
import { mergePatch } from '../../../src/mock/admin/merge-patch.js'

// The examples of RFC 7396, appendix A, plus the two promises the admin API relies on.
describe('mergePatch', () => {
  const rfc: [target: unknown, patch: unknown, result: unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ]
  for (const [target, patch, result] of rfc) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)} = ${JSON.stringify(result)}`, () => {
      expect(mergePatch(target, patch)).toEqual(result)
    })
  }

  it('changes neither argument', () => {
    const target = { fields: { a: 1, b: 2 } }
    const patch = { fields: { a: null, c: { d: 1 } } }
    const copy = structuredClone({ target, patch })
    expect(mergePatch(target, patch)).toEqual({ fields: { b: 2, c: { d: 1 } } })
    expect({ target, patch }).toEqual(copy)
  })

  it('keeps a __proto__ key a plain key, never the prototype', () => {
    const result = mergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(Object.keys(result)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
