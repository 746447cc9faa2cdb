import { constants } from 'node:fs'
import { access, open } from 'node:fs/promises'
import path from 'node:path'
import { FILE_HEAD, FILE_SEPARATOR, FILE_TAIL, type UserRecord } from '../record.js'
import { oneLine, type State, StoreError } from './load.js'

// The JSON store's file on disk: read in one go, checked for writability, written back line by line.

/** Line `line` of the file as read at open: one record's JSON. */
export function lineText(state: State, line: number): string {
  return state.bytes.toString('utf8', state.starts[line], state.ends[line])
}

function parseLine(state: State, line: number): unknown {
  return JSON.parse(lineText(state, line))
}

/** An entry of the index as a record: a line of the file is parsed afresh, an upserted one is as kept. */
export function recordOf(state: State, entry: number | UserRecord): UserRecord {
  return typeof entry === 'number' ? (parseLine(state, entry) as UserRecord) : entry
}

/**
 * The file in the layout `writeSeedFile` writes, as Buffers to write in turn: unchanged lines are
 * their original bytes (a run of neighbours is one slice of `bytes`), changed ones JSON.stringify.
 */
export function serialise({ bytes, starts, ends, index }: State): Buffer[] {
  const chunks: Buffer[] = []
  let text = FILE_HEAD
  let runFrom = -1
  let runTo = -1
  const endRun = () => {
    if (runFrom < 0) return
    chunks.push(bytes.subarray(runFrom, runTo))
    runFrom = -1
  }
  let first = true
  for (const entry of index.values()) {
    const separator = first ? '' : FILE_SEPARATOR
    first = false
    if (typeof entry === 'number') {
      const start = starts[entry] as number
      // The next line of the file: the run grows over the ",\n" between them.
      if (runFrom >= 0 && runTo + FILE_SEPARATOR.length === start) {
        runTo = ends[entry] as number
        continue
      }
      endRun()
      text += separator
      if (text) chunks.push(Buffer.from(text))
      text = ''
      runFrom = start
      runTo = ends[entry] as number
    } else {
      endRun()
      text += separator + JSON.stringify(entry)
      if (text.length >= 1 << 20) {
        chunks.push(Buffer.from(text))
        text = ''
      }
    }
  }
  endRun()
  chunks.push(Buffer.from(text + FILE_TAIL))
  return chunks
}

export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    // One read of the known size: readFile's 512 KiB chunks cost ~0.5 s on a 250 MB store.
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      const bytes = Buffer.allocUnsafe(size)
      let filled = 0
      while (filled < size) {
        const { bytesRead } = await handle.read(bytes, filled, size - filled, filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return bytes.subarray(0, filled)
    } finally {
      await handle.close()
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new StoreError(`${file}: cannot read (${code ?? oneLine((error as Error).message)})`)
  }
}

// Checked at open, so a read-only volume stops the start with one line instead of failing the first edit.
// steno needs the folder (for its temp file and the rename) as well as the file.
export async function assertWritable(file: string, exists: boolean): Promise<void> {
  const folder = path.dirname(path.resolve(file))
  for (const [target, what] of [[folder, 'its folder'], ...(exists ? [[file, 'the file']] : [])] as const) {
    try {
      await access(target, constants.W_OK)
    } catch (error) {
      throw new StoreError(`${file}: ${what} is not writable (${(error as NodeJS.ErrnoException).code})`)
    }
  }
}
