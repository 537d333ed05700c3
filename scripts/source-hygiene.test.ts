import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * What review alone missed once: a debugging timeline (`(globalThis as any).MTL.push(...)` on every call)
 * landed in the client library, growing an array per call in every tab. It got past the type
 * checker through `as any`: the library packages' sources (tests aside) use no `any` at all.
 */
const root = resolve(import.meta.dirname, '..')

function sources(dir: string): string[] {
  const found: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (name === 'node_modules') continue
    if (statSync(path).isDirectory()) found.push(...sources(path))
    else if (/\.tsx?$/.test(name) && !/\.(test|spec)\.tsx?$/.test(name) && !name.endsWith('.d.ts')) found.push(path)
  }
  return found
}

const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'src'))
const files = packages.flatMap((dir) => sources(dir))

describe('library sources', () => {
  it('are found', () => {
    expect(files.length).toBeGreaterThan(50)
  })

  it('use no `any`', () => {
    const offences: string[] = []
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\bas any\b|:\s*any\b|<any>/.test(line) && !/^\s*(\/\/|\*)/.test(line)) offences.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`)
        })
    }
    expect(offences).toEqual([])
  })
})
