import type { CheckReport } from './check.js'
import type { CheckRow } from './judge.js'

// `check --junit FILE`: the report as JUnit XML, which CI systems show as test results. One <testcase>
// per row; a failing row carries its reason as the <failure> message. A failing advisory row is a
// warning, not a failure (as in the table), so its reason goes to <system-out>.

const SUITE = 'talki-endpoint check'

/** Characters XML 1.0 cannot hold at all, even escaped (control characters, lone surrogates). */
const NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // In an attribute a raw newline or tab would be normalised to a space by the reader.
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
}

function attribute(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"'\n\r\t]/g, (c) => ENTITIES[c] ?? c)
}

function content(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>]/g, (c) => ENTITIES[c] ?? c)
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3)
}

function testcase(row: CheckRow): string {
  const open = `    <testcase name="${attribute(row.name)}" classname="${SUITE}" time="${seconds(row.ms)}"`
  if (row.pass) return `${open}>\n      <system-out>${content(row.reason)}</system-out>\n    </testcase>`
  if (row.advisory) {
    return `${open}>\n      <system-out>${content(`WARN: ${row.reason}`)}</system-out>\n    </testcase>`
  }
  const reason = row.reason
  return `${open}>\n      <failure message="${attribute(reason)}" type="FAIL">${content(reason)}</failure>\n    </testcase>`
}

export function formatJunit(report: CheckReport): string {
  const counts = `tests="${report.rows.length}" failures="${report.failed}" errors="0" skipped="0" time="${seconds(report.ms)}"`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${SUITE}" ${counts}>`,
    `  <testsuite name="${attribute(`${SUITE} ${report.url}`)}" ${counts}>`,
    '    <properties>',
    `      <property name="url" value="${attribute(report.url)}"/>`,
    `      <property name="token" value="${attribute(report.token)}"/>`,
    `      <property name="warnings" value="${report.warnings}"/>`,
    '    </properties>',
    ...report.rows.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}
