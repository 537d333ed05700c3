import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/** `npx concord check` as a user runs it: the bin, a module path, exit codes, a replay file. */
const run = promisify(execFile)
const root = resolve(import.meta.dirname, '../../..')
const bin = join(root, 'packages/check/bin/concord.mjs')

async function concord(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd })
    return { code: 0, out: stdout + stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, out: e.stdout + e.stderr }
  }
}

describe('the concord check CLI', () => {
  it('passes the warehouse app (exit 0) and fails a broken machine (exit 1) with a minimal case that --replay reproduces', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'concord-check-'))
    const pass = await concord(cwd, 'check', join(root, 'apps/warehouse/src/machine.check.ts'), '--seeds', '3')
    expect(pass.code).toBe(0)
    expect(pass.out).toMatch(/PASS warehouse: 3 seeds/)

    const fail = await concord(cwd, 'check', join(root, 'examples/broken/negative-stock.ts'), '--seeds', '10')
    expect(fail.code).toBe(1)
    expect(fail.out).toMatch(/FAIL racy-warehouse: seed \d+ failed/)
    expect(fail.out).toMatch(/"stock never negative" is false/)
    expect(fail.out).toMatch(/minimal case: \d calls?, with no faults at all/)
    expect(fail.out).toMatch(/transfer\(\{"x":"[ABC]","y":"[ABC]","v":\d+\}\) → ok null/)
    const [file] = readdirSync(join(cwd, '.concord/check'))
    expect(file).toMatch(/^racy-warehouse-seed-\d+-invariant\.json$/)
    expect(fail.out).toContain(`--replay .concord/check/${file}`)

    const replay = await concord(cwd, 'check', join(root, 'examples/broken/negative-stock.ts'), '--replay', `.concord/check/${file}`)
    expect(replay.code).toBe(1)
    expect(replay.out).toMatch(/"stock never negative" is false/)
  })

  it('bad arguments: a usage message and exit 2', async () => {
    const noModule = await concord(root, 'check')
    expect(noModule.code).toBe(2)
    expect(noModule.out).toMatch(/usage: npx concord check <machine-module.ts>/)
    const badFlag = await concord(root, 'check', 'examples/broken/negative-stock.ts', '--seeds', 'many')
    expect(badFlag.code).toBe(2)
    expect(badFlag.out).toMatch(/--seeds needs an integer ≥ 1, got many/)
    const notAMachine = await concord(root, 'check', 'packages/check/src/clock.ts')
    expect(notAMachine.code).toBe(2)
    expect(notAMachine.out).toMatch(/exports no `machine`/)
  })
})
