// Defaults of the wire contract, apart from the zod schemas so that the CLI's help can print them
// without loading zod. The token field is the template's own (src/template/protocol.ts).

export { DEFAULT_TOKEN_FIELD } from '../template/protocol.js'
