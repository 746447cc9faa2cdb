import { startNodeHttp } from '../../src/examples/node-http.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('node:http', onLoopback(startNodeHttp))
