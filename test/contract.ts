import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import * as ajvFormats from 'ajv-formats'
import request from 'supertest'
import { type AdminDeps, createAdminApp } from '../src/mock/admin/app.js'
import { watchedApps } from './checked-apps.js'

// The contract check of the admin tests: every answer an admin app gives in a test is checked against
// the OpenAPI document that same app serves at /api/openapi.json — status documented for the operation
// (or the document's 405 for a method it does not list), content type, headers it requires, and the
// body valid for that status's schema (JSON Schema 2020-12, with formats). The check sits in front of
// the app, on the server side, so supertest, node:http and a browser are all checked alike; tests get
// the checked handler only.

// ajv-formats is CommonJS with `exports.default`: under NodeNext its function is the namespace's default.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv2020) => Ajv2020

export interface Answer {
  method: string
  /** The request target as sent: path and query. */
  url: string
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: Buffer
}

type Json = Record<string, unknown>
type Document = { paths: Record<string, Json>; components: { responses: Record<string, Json> } }

const DOCUMENT_ID = 'openapi.json'
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']

/** Checks answers against one document; `check` returns what is wrong, or nothing. */
export class ContractChecker {
  readonly #document: Document
  readonly #ajv: Ajv2020
  readonly #validators = new Map<string, ValidateFunction>()
  #compiled = false
  readonly #routes: { template: string; pattern: RegExp; item: Json }[]

  constructor(document: unknown) {
    this.#document = document as Document
    // strict: false because the document is OpenAPI around JSON Schema (openapi, info, paths…).
    this.#ajv = new Ajv2020({ strict: false, allErrors: true })
    addFormats(this.#ajv)
    this.#ajv.addSchema({ ...(document as Json), $id: DOCUMENT_ID })
    this.#routes = Object.entries(this.#document.paths)
      // A path item with servers of its own (the endpoint) lives on the other port.
      .filter(([, item]) => item.servers === undefined)
      .map(([template, item]) => ({
        template,
        pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        item,
      }))
  }

  /** Compiles every JSON answer's validator now, so that later checks take no time (timed tests). */
  compileAll(): this {
    if (this.#compiled) return this
    this.#compiled = true
    for (const route of this.#routes) {
      for (const method of HTTP_METHODS) {
        const operation = route.item[method] as { responses: Record<string, Json> } | undefined
        for (const [status, response] of Object.entries(operation?.responses ?? {})) {
          if ((response.content as Json | undefined)?.['application/json'] === undefined) continue
          this.#validator([
            'paths',
            route.template,
            method,
            'responses',
            status,
            'content',
            'application/json',
            'schema',
          ])
        }
      }
    }
    return this
  }

  check(answer: Answer): string | undefined {
    const path = answer.url.split('?')[0] ?? ''
    const where = `${answer.method} ${answer.url} → ${answer.status}`
    const route = this.#routes.find((r) => r.pattern.test(path))
    if (!route) {
      // Outside the document: the dashboard's files, or an unknown /api path (401 or 404 refusals).
      if (!path.startsWith('/api')) return undefined
      if (answer.status !== 404 && answer.status !== 401)
        return `${where}: an unknown /api path must be 401 or 404`
      return this.#checkBody(where, answer, ['components', 'schemas', 'AdminError'], 'application/json')
    }
    const method = answer.method.toLowerCase()
    const allowed = HTTP_METHODS.filter((m) => m in route.item)
    const operation = route.item[method] as { responses: Record<string, Json> } | undefined
    let response: Json | undefined
    let pointer: string[]
    if (operation) {
      response = operation.responses[String(answer.status)]
      pointer = ['paths', route.template, method, 'responses', String(answer.status)]
      if (!response) return `${where}: status not documented for ${method.toUpperCase()} ${route.template}`
    } else {
      if (answer.status !== 405) return `${where}: ${route.template} has no ${method} and must answer 405`
      const allow = String(answer.headers.allow ?? '')
      const given = allow
        .split(/\s*,\s*/)
        .sort()
        .join(', ')
      const expected = allowed
        .map((m) => m.toUpperCase())
        .sort()
        .join(', ')
      if (given !== expected) return `${where}: Allow is "${allow}", the document lists ${expected}`
      response = this.#document.components.responses.MethodNotAllowed
      pointer = ['components', 'responses', 'MethodNotAllowed']
    }
    for (const [name, header] of Object.entries((response?.headers ?? {}) as Record<string, Json>)) {
      if (header.required && answer.headers[name.toLowerCase()] === undefined)
        return `${where}: no ${name} header`
    }
    const content = response?.content as Record<string, unknown> | undefined
    if (!content)
      return answer.body.length === 0 ? undefined : `${where}: documented without a body, sent one`
    const mediaType = String(answer.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase()
    if (!mediaType || !(mediaType in content)) return `${where}: content type ${mediaType} not documented`
    // An event stream is still open when the test lets go, and a HEAD answer has no body: their status,
    // headers and type are all there is to check.
    if (mediaType !== 'application/json' || answer.method === 'HEAD') return undefined
    return this.#checkBody(where, answer, [...pointer, 'content', mediaType, 'schema'], mediaType)
  }

  #validator(pointer: string[]): ValidateFunction {
    const ref = `${DOCUMENT_ID}#/${pointer.map((token) => encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`
    let validate = this.#validators.get(ref)
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref })
      this.#validators.set(ref, validate)
    }
    return validate
  }

  #checkBody(where: string, answer: Answer, pointer: string[], mediaType: string): string | undefined {
    const type = String(answer.headers['content-type'] ?? '')
    if (!type.startsWith(mediaType)) return `${where}: content type ${type}, expected ${mediaType}`
    let body: unknown
    try {
      body = JSON.parse(answer.body.toString('utf8'))
    } catch {
      return `${where}: the body is not JSON: ${answer.body.toString('utf8').slice(0, 200)}`
    }
    const validate = this.#validator(pointer)
    if (validate(body)) return undefined
    return `${where}: body ${JSON.stringify(body).slice(0, 300)} breaks ${pointer.join(' ')}: ${this.#ajv.errorsText(validate.errors)}`
  }
}

/** One checker per distinct document (its validators compiled once), however many servers serve it. */
const byDocument = new Map<string, ContractChecker>()

function checkerFor(document: unknown): ContractChecker {
  const key = JSON.stringify(document)
  const known = byDocument.get(key) ?? new ContractChecker(document)
  byDocument.set(key, known)
  return known
}

export interface CheckedApp extends RequestListener {
  /** Every contract violation so far, once the checks of answers already sent have run. */
  violations(): Promise<string[]>
  /** The violations not taken yet (what the after-each check of contract-hooks.ts reports). */
  takeViolations(): Promise<string[]>
  /** Leaves the after-each check out for this app: for a test that breaks the check on purpose. */
  forget(): void
}

/**
 * The admin app as the tests build it: createAdminApp with the contract check in front (checkedApp). A
 * lint rule (biome.json) keeps test/ from importing createAdminApp anywhere but here.
 */
export function checkedAdminApp(deps: AdminDeps): CheckedApp {
  return checkedApp(createAdminApp(deps), deps.adminToken ? { adminToken: deps.adminToken } : {})
}

/**
 * `app` with every answer checked against the document it serves. The document is fetched from `app`
 * itself (with the admin token when one is set) on the first answer.
 */
export function checkedApp(app: RequestListener, options: { adminToken?: string } = {}): CheckedApp {
  let checker: Promise<ContractChecker> | undefined
  const documentChecker = () => {
    checker ??= (async () => {
      let call = request(app).get('/api/openapi.json')
      if (options.adminToken) call = call.set('Authorization', `Bearer ${options.adminToken}`)
      const res = await call
      if (res.status !== 200) throw new Error(`GET /api/openapi.json answered ${res.status}`)
      return checkerFor(res.body)
    })()
    return checker
  }
  const pending: Promise<string | undefined>[] = []
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET'
    const url = req.url ?? '/'
    const chunks = capture(res)
    res.once('close', () => {
      if (!res.headersSent) return // cut without an answer: nothing to check
      const answer: Answer = {
        method,
        url,
        status: res.statusCode,
        headers: res.getHeaders(),
        body: Buffer.concat(chunks),
      }
      pending.push(documentChecker().then((c) => c.check(answer)))
    })
    app(req, res)
  }
  let taken = 0
  const violations = async () => {
    const results = await Promise.all(pending)
    return results.filter((v): v is string => v !== undefined)
  }
  const checked: CheckedApp = Object.assign(handler, {
    violations,
    async takeViolations() {
      const all = await violations()
      const fresh = all.slice(taken)
      taken = all.length
      return fresh
    },
    forget: () => watchedApps.delete(checked),
  })
  watchedApps.add(checked)
  return checked
}

/** Collects what is written to `res` (the first megabyte and a bit: enough for any admin answer). */
function capture(res: ServerResponse): Buffer[] {
  const chunks: Buffer[] = []
  let size = 0
  const keep = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function' || size > 2 << 20) return
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
    size += buffer.length
    chunks.push(buffer)
  }
  const write = res.write.bind(res) as (...args: unknown[]) => boolean
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0])
    return write(chunk, ...rest)
  }) as ServerResponse['write']
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    keep(chunk, rest[0])
    return end(chunk, ...rest)
  }) as ServerResponse['end']
  return chunks
}

const remoteCheckers = new Map<string, Promise<ContractChecker>>()

/**
 * The checker for the document a server in another process serves at `base`/api/openapi.json, fetched
 * (with `token` when set) on the first call and kept; rejects when the document cannot be had. A caller
 * that later kills the server, or calls it with a wrong token on purpose, loads it first (stress.ts's start).
 */
export function loadContract(base: string, token: string | undefined): Promise<ContractChecker> {
  const known = remoteCheckers.get(base)
  if (known) return known
  const loading = (async () => {
    const res = await fetch(`${base}/api/openapi.json`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    })
    if (!res.ok) throw new Error(`GET ${base}/api/openapi.json answered ${res.status}`)
    return checkerFor(await res.json()).compileAll()
  })()
  remoteCheckers.set(base, loading)
  // A failed fetch is not kept: a later call (with the right token, say) tries again.
  loading.catch(() => remoteCheckers.delete(base))
  return loading
}

/**
 * The same check for an answer from a server in another process: against the document that server
 * serves (loadContract). An answer that cannot be checked fails, as does one off the document.
 */
export async function expectContract(base: string, token: string | undefined, answer: Answer): Promise<void> {
  const checker = await loadContract(base, token).catch((error: unknown) => {
    throw new Error(
      `admin answer ${answer.method} ${answer.url} → ${answer.status} cannot be checked: ${error instanceof Error ? error.message : String(error)}`,
    )
  })
  const violation = checker.check(answer)
  if (violation) throw new Error(`admin answer off the document: ${violation}`)
}
