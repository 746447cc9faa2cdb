import { startFastify } from '../../src/examples/fastify.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Fastify', onLoopback(startFastify))
