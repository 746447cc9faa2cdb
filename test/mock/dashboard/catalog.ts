// The catalog GET /api/scenarios answers, in the shape the dashboard reads.
const ms = (name: string, def: number) => ({
  name,
  type: 'integer',
  minimum: 0,
  maximum: 600_000,
  default: def,
})

export const CATALOG = {
  scenarios: [
    { name: 'ok', description: 'the normal answer', parameters: [] },
    { name: 'slow', description: 'answers late', parameters: [ms('delayMs', 6000), ms('jitterMs', 0)] },
    { name: 'not_found', description: '404', parameters: [] },
    { name: 'unauthorized', description: '401', parameters: [] },
    {
      name: 'error',
      description: '5xx',
      parameters: [{ name: 'status', type: 'enum', values: [500, 502, 503, 504], default: 500 }],
    },
    { name: 'down', description: 'port closed', parameters: [ms('durationMs', 10_000)] },
    { name: 'reset', description: 'connection cut', parameters: [] },
    { name: 'hang', description: 'no answer', parameters: [ms('maxMs', 60_000)] },
    { name: 'malformed', description: 'not JSON', parameters: [] },
    { name: 'wrong_shape', description: 'breaks the contract', parameters: [] },
    {
      name: 'flaky',
      description: 'fails once',
      parameters: [
        { name: 'failWith', type: 'scenario', default: { scenario: 'error', status: 503 } },
        ms('windowMs', 10_000),
      ],
    },
  ],
  override: {
    parameters: [
      { name: 'count', type: 'integer', minimum: 1 },
      { name: 'probability', type: 'number', minimum: 0, maximum: 1 },
    ],
  },
  sequence: { parameters: [ms('windowMs', 10_000)] },
}
