import fc from 'fast-check'

// fast-check arbitraries from the JSON Schemas of the OpenAPI document: the subset zod writes
// ($ref, anyOf/oneOf, const, enum, object, array, string, integer, number, boolean, null, records).

type Schema = Record<string, unknown>

export function arbitraryFor(schema: Schema, components: Record<string, Schema>): fc.Arbitrary<unknown> {
  const ref = schema.$ref
  if (typeof ref === 'string') {
    const target = components[ref.replace('#/components/schemas/', '')]
    if (!target) throw new Error(`unknown ${ref}`)
    return arbitraryFor(target, components)
  }
  const choices = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (choices) return fc.oneof(...choices.map((choice) => arbitraryFor(choice, components)))
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.type)) {
    return fc.oneof(...(schema.type as string[]).map((type) => arbitraryFor({ ...schema, type }, components)))
  }
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]))
  switch (schema.type) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'string':
      return fc.string({
        minLength: (schema.minLength as number | undefined) ?? 0,
        maxLength: Math.min((schema.maxLength as number | undefined) ?? 20, 20),
      })
    case 'integer':
      return fc.integer({
        min: Math.max((schema.minimum as number | undefined) ?? -1e9, -1e9),
        max: Math.min((schema.maximum as number | undefined) ?? 1e9, 1e9),
      })
    case 'number':
      return fc.double({
        min: (schema.minimum as number | undefined) ?? -1e9,
        max: (schema.maximum as number | undefined) ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      })
    case 'array':
      return fc.array(arbitraryFor((schema.items as Schema | undefined) ?? {}, components), {
        minLength: (schema.minItems as number | undefined) ?? 0,
        maxLength: Math.min((schema.maxItems as number | undefined) ?? 4, 4),
      })
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const names = Object.keys(properties)
      const additional = schema.additionalProperties
      if (names.length === 0 && additional && typeof additional === 'object') {
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }),
          arbitraryFor(additional as Schema, components),
          {
            maxKeys: 4,
          },
        )
      }
      const record: Record<string, fc.Arbitrary<unknown>> = {}
      for (const name of names) record[name] = arbitraryFor(properties[name] as Schema, components)
      return fc.record(record, { requiredKeys: (schema.required as string[] | undefined) ?? [] })
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}
