/** `postgres://talki:***@db:5432/talki`: a URL with its password masked, for messages and logs. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(not a URL)'
  }
}
