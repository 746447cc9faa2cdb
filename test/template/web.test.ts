import { startWeb } from '../../src/examples/web.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Web (through @hono/node-server)', onLoopback(startWeb))
