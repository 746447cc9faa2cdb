// Apart from contract.ts so that `seed` writes its file without loading zod.

/**
 * The file layout shared by the seed and the store: `{"users":[` then one compact record per line.
 * Diff-friendly, written piece by piece rather than as one giant string, and read one line at a time.
 */
export const FILE_HEAD = '{"users":[\n'
export const FILE_SEPARATOR = ',\n'
export const FILE_TAIL = '\n]}\n'
