import { startExpress } from '../../src/examples/express.js'
import { describeAdapter } from './adapter-cases.js'
import { onLoopback } from './on-loopback.js'

describeAdapter('Express', onLoopback(startExpress))
