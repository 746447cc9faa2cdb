import { createNodeHttpListener } from '../template/node-http.js'
import { type StartExample, serveListener } from './serve.js'

// A bare node:http server with Talki's listener.
export const startNodeHttp: StartExample = (options) =>
  serveListener(createNodeHttpListener(options), options)
