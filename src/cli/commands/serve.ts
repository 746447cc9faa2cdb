import { DEFAULT_DATA_FILE } from '../../mock/runtime/defaults.js'
import { defineCommand } from '../command.js'
import { UsageError } from '../io.js'

export default defineCommand({
  name: 'serve',
  synopsis: 'serve',
  summary: 'start the mock endpoint and its admin API here (data in ./data)',
  help: `Usage: talki-endpoint serve

Starts the mock endpoint (POST /talki/customer on 0.0.0.0:3000) and its admin API and dashboard
(127.0.0.1:3001) in the working folder: users in ./${DEFAULT_DATA_FILE}, created from the packaged seed on
the first start, and a development secret in .secret beside it unless TALKI_SECRET is set (send and
check in the same folder find it). Configured by environment variables, as npm start:

  PORT=4000 ADMIN_PORT=off SIMULATE=slow:6000 talki-endpoint serve

(PORT, HOST, ADMIN_PORT, ADMIN_HOST, ADMIN_TOKEN, TALKI_SECRET, DATA_FILE, SIMULATE, LOG_LEVEL, …:
see the README's Configuration.) Stops cleanly on SIGTERM or Ctrl-C, draining requests in flight.

  -h, --help      this help

Exit 0 after a clean stop, 1 when the configuration or the data file is bad or the port is taken
(one line names it), 2 on a usage error.`,
  options: {},
  /** Loads the server, which starts itself and owns the process from then on (it exits on SIGTERM/SIGINT). */
  async run({ positionals }) {
    if (positionals.length > 0) {
      throw new UsageError(
        `unexpected argument "${positionals[0]}": serve is configured by environment variables`,
      )
    }
    await import('../../mock/main.js')
    return 0
  },
})
