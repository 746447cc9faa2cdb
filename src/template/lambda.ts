import { createCustomerRoute, type EndpointOptions } from './customer-route.js'
import { ANSWER_HEADERS, type Answer, answers, checkSecrets, DEFAULT_BODY_LIMIT } from './protocol.js'
import { verifySignature } from './signature.js'

// Talki's route on AWS Lambda, behind an API Gateway HTTP API (payload format 2.0) or a Lambda function
// URL (the same event shape). No AWS package is needed: the two shapes are written out below.
//
//   export const handler = createLambdaHandler({ secrets: [process.env.TALKI_SECRET!], store })
//
// API Gateway and function URLs read the whole body before calling the function (and hand binary or
// non-text bodies over in base64): the size limit is applied to the decoded bytes.

/** The parts of an API Gateway HTTP API v2 / function URL event the route reads. */
export interface LambdaHttpEvent {
  /** The path as requested (behind a named API Gateway stage it starts with the stage). */
  rawPath?: string
  /** Header names in lower case; a repeated header arrives joined with commas. */
  headers?: Record<string, string | undefined>
  body?: string | null
  isBase64Encoded?: boolean
  requestContext: { http: { method: string } }
}

/** What the function returns: API Gateway and function URLs send it as the HTTP answer. */
export interface LambdaHttpResult {
  statusCode: number
  headers: Record<string, string>
  body: string
  isBase64Encoded: false
}

export interface LambdaHandlerOptions extends EndpointOptions {
  /** When set, a request to another path answers 404; leave it unset where API Gateway routes. */
  path?: string
}

export function createLambdaHandler(
  options: LambdaHandlerOptions,
): (event: LambdaHttpEvent) => Promise<LambdaHttpResult> {
  checkSecrets(options.secrets)
  const secrets = [...options.secrets]
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const onError = options.onError ?? console.error
  const answerCustomerRequest = createCustomerRoute({
    verify: (body, header) => verifySignature(body, header, secrets),
    store: options.store,
    tokenField: options.tokenField,
    lookupTimeoutMs: options.lookupTimeoutMs,
    onWarning: options.onWarning,
  })

  return async function handleTalkiEvent(event) {
    try {
      if (options.path !== undefined && event.rawPath !== options.path) return toResult(answers.notFound)
      if (event.requestContext.http.method !== 'POST') return toResult(answers.methodNotAllowed)
      // 1. Size: the decoded body, at most `bodyLimit` bytes.
      const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8')
      if (body.length > bodyLimit) return toResult(answers.payloadTooLarge)
      // 2–5. Encoding, signature, body, lookup: customer-route.ts.
      const headers = event.headers ?? {}
      return toResult(
        await answerCustomerRequest({
          rawBody: body,
          signature: headers['x-talki-signature'],
          contentEncoding: headers['content-encoding'],
        }),
      )
    } catch (error) {
      onError(error)
      return toResult(answers.internalError)
    }
  }
}

function toResult(answer: Answer): LambdaHttpResult {
  return {
    statusCode: answer.status,
    headers: { ...ANSWER_HEADERS, ...answer.headers },
    body: JSON.stringify(answer.body),
    isBase64Encoded: false,
  }
}
