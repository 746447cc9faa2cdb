import type { Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createAdaptorServer } from '@hono/node-server'
import { SERVER_OPTIONS } from '../mock/runtime/listen.js'
import { createWebHandler } from '../template/web.js'
import { type StartExample, serveNodeServer } from './serve.js'

// The Web-standard handler on Node, through @hono/node-server (what Hono itself uses on Node): the same
// handler a Next.js route, a Worker, Bun or Deno would run.
export const startWeb: StartExample = (options) => {
  const fetch = createWebHandler(options)
  const server = options.tls
    ? createAdaptorServer({
        fetch,
        createServer: createHttpsServer,
        serverOptions: { ...SERVER_OPTIONS, ...options.tls },
      })
    : createAdaptorServer({ fetch, serverOptions: SERVER_OPTIONS })
  return serveNodeServer(server as Server, options)
}
