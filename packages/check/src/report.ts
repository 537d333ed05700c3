import type { Output } from '@concord/sim'
import { preview, type CheckFailure, type CheckReport } from './check.ts'

/** The report as text: one line per outcome, the minimal case call by call. */
export function formatReport(report: CheckReport, replay: (flags: string) => string): string {
  const lines: string[] = []
  const totals = `${report.seeds} seeds, ${report.calls.toLocaleString('en')} calls, ${report.commands.toLocaleString('en')} commands, ${report.crashes.toLocaleString('en')} crashes, ${report.elections.toLocaleString('en')} elections; linearizable: ${report.linearizable} of ${report.seeds}${report.linearizabilitySkipped > 0 ? ` (${report.linearizabilitySkipped} not judged)` : ''}`
  if (report.failed === 0) lines.push(`PASS ${report.machine}: ${totals}`)
  else if (report.failed === report.seeds && report.seeds < report.seedsPlanned) lines.push(`FAIL ${report.machine}: seed ${report.failures[0]!.seed} failed; stopped there (--keep-going runs every seed) (${totals})`)
  else lines.push(`FAIL ${report.machine}: ${report.failed} of ${report.seeds} seeds failed (${totals})`)
  for (const failure of report.failures.slice(0, 10)) lines.push(...formatFailure(failure, replay))
  for (const note of report.notes) lines.push(`note: ${note}`)
  return lines.join('\n')
}

export function formatFailure(failure: CheckFailure, replay: (flags: string) => string): string[] {
  const lines = [``, `seed ${failure.seed}: ${failure.detail}`]
  const minimal = failure.minimal
  if (minimal !== null) {
    const made = minimal.calls.length
    lines.push(`  minimal case: ${made} call${made === 1 ? '' : 's'}, ${minimal.needsFaults ? 'under the seed\'s faults' : 'with no faults at all (no crash, loss or partition)'}${minimal.runs > 1 ? ` (shrunk in ${minimal.runs} runs)` : ''}`)
    for (const call of minimal.calls) {
      lines.push(`    t=${String(call.call).padEnd(5)} ${call.client.padEnd(3)} ${call.name}(${preview(call.args, 120)}) → ${call.threw !== undefined ? `threw ${call.threw}` : outcome(call.output)}`)
    }
  }
  lines.push(`  replay: ${replay(`--seed ${failure.seed}`)}`)
  return lines
}

function outcome(output: Output | undefined): string {
  if (output === undefined) return '(no answer)'
  return output.ok ? `ok ${preview(output.result, 80)}` : `rejected: ${output.reason}`
}
