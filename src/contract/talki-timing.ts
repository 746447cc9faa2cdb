// How long Talki waits for an answer and how long it pauses before its one retry (docs/qa.md). `real` is
// Talki's own; `demo` scales both down so a demo of a slow or down endpoint leaves no dead air
// (docs/demos.md). The mock (start-up log, dashboard) and the CLI's `send` read the same numbers from here.
// No zod here: the CLI's help and `send` load this file and stay free of it.

export const TALKI_TIMING_NAMES = ['real', 'demo'] as const
export type TalkiTimingName = (typeof TALKI_TIMING_NAMES)[number]

export interface TalkiTiming {
  timing: TalkiTimingName
  /** How long Talki waits for an answer, in ms. */
  timeoutMs: number
  /** Talki's pause before its one retry, in ms. */
  retryDelayMs: number
}

export const TALKI_TIMINGS: Readonly<Record<TalkiTimingName, TalkiTiming>> = {
  real: { timing: 'real', timeoutMs: 5000, retryDelayMs: 3000 },
  demo: { timing: 'demo', timeoutMs: 1500, retryDelayMs: 1000 },
}

/** `5 s timeout, retry after 3 s`. */
export function describeTalkiTiming(t: Pick<TalkiTiming, 'timeoutMs' | 'retryDelayMs'>): string {
  return `${t.timeoutMs / 1000} s timeout, retry after ${t.retryDelayMs / 1000} s`
}

/** The timing a TALKI_TIMING value names; `undefined` for a value that names none. Unset or empty: real. */
export function talkiTimingNamed(value: string | undefined): TalkiTiming | undefined {
  if (value === undefined || value === '') return TALKI_TIMINGS.real
  return TALKI_TIMING_NAMES.includes(value as TalkiTimingName)
    ? TALKI_TIMINGS[value as TalkiTimingName]
    : undefined
}
