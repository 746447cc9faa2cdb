// @ts-check
// A value one module owns and others watch: only the owner calls `set`.

/**
 * @template T
 * @param {T} initial
 */
export function signal(initial) {
  let value = initial
  /** @type {Set<(value: T) => void>} */
  const listeners = new Set()
  const get = () => value
  /** @param {(value: T) => void} listener */
  const subscribe = (listener) => {
    listeners.add(listener)
  }
  return {
    get,
    subscribe,
    /** What the owner exports: read and watch, never write. */
    view: { get, subscribe },
    /** @param {T} next */
    set(next) {
      value = next
      for (const listener of listeners) listener(value)
    },
  }
}
