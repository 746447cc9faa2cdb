import type { StartExample } from '../../src/examples/serve.js'
import type { StartAdapter } from './adapter-cases.js'

/** An example's start function on 127.0.0.1 and a free port, as the adapter table starts servers. */
export function onLoopback(start: StartExample): StartAdapter {
  return async (options) => {
    const running = await start({ ...options, port: 0, host: '127.0.0.1' })
    return {
      url: new URL(`http://127.0.0.1:${running.port}`),
      close: () => running.close(0),
    }
  }
}
