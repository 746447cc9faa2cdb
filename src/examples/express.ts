import express from 'express'
import { createExpressRoute } from '../template/express.js'
import { writeAnswer } from '../template/node-handler.js'
import { answers } from '../template/protocol.js'
import { type StartExample, serveListener } from './serve.js'

// An Express 5 app with Talki's route and a JSON 404 for every other path.
export const startExpress: StartExample = (options) => {
  const app = express()
  app.disable('x-powered-by')
  app.use(createExpressRoute(options))
  app.use((_req, res) => writeAnswer(res, answers.notFound))
  return serveListener(app, options)
}
