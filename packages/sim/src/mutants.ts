import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Planted bugs ("mutants") that the simulator must catch. Each is a textual
 * patch of the core; `runMutant` copies the packages to a scratch directory,
 * applies it, and sweeps seeds there until the first failure. The real core
 * is never touched and carries no test hooks.
 */
export interface Mutant {
  name: string
  what: string
  file: string
  find: string
  replace: string
}

export const mutants: Mutant[] = [
  {
    name: 'snapshot-without-sessions',
    what: 'installing a snapshot keeps the old ticket table (seed 001 + seed 003)',
    file: 'core/src/replica.ts',
    find: '    this.sessions.load(snapshot.sessions)',
    replace: '',
  },
  {
    name: 'ballotinfo-complete-below-start',
    what: 'BallotInfo claims a complete D for an n below the start of the log',
    file: 'core/src/replica.ts',
    find: 'let truncated = n < this.log.start && this.log.max >= n',
    replace: 'let truncated = false',
  },
  {
    name: 'skip-precedent-check',
    what: 'the issue rule ignores whether the precedent is issued at m−1',
    file: 'core/src/replica.ts',
    find: 'if (precedent === undefined || precedent.command.id !== proposal.command.prec) return',
    replace: 'if (precedent === undefined) return',
  },
  {
    name: 'voted-before-durable',
    what: 'Voted leaves before prevVote is durable',
    file: 'core/src/replica.ts',
    find: "this.coalesce(key, this.recordSeq, messageEntriesMax, (): MessageOf<'Voted'>",
    replace: "this.coalesce(key, 0, messageEntriesMax, (): MessageOf<'Voted'>",
  },
  {
    name: 'lowest-ballot',
    what: 'InitHistProc picks the anchored vote from the lowest ballot',
    file: 'core/src/history.ts',
    find: 'if (order > 0) best = vote',
    replace: 'if (order < 0) best = vote',
  },
  {
    name: 'no-anchoring',
    what: 'InitHistProc takes the latest vote whether or not it is anchored (plain Paxos B3)',
    file: 'core/src/history.ts',
    find: 'if (vote.command.prec !== precedent) continue',
    replace: '',
  },
  {
    name: 'seed-literal-issue-rule',
    what: 'the issue rule without the lock-ballot refinement (the seed\'s literal rule)',
    file: 'core/src/replica.ts',
    find: 'if (compareBallots(precedent.lockBallot, tally.ballot) > 0) return',
    replace: '',
  },
  {
    name: 'vote-without-promise',
    what: 'an acceptor votes in any ballot ≥ nextBal without promising it',
    file: 'core/src/replica.ts',
    find: 'if (!ballotEquals(b, this.nextBal)) {',
    replace: 'if (ballotLess(b, this.nextBal)) {',
  },
  {
    name: 'nextBal-not-persisted',
    what: 'nextBal is not written to stable storage',
    file: 'core/src/replica.ts',
    find: "this.record({ kind: 'nextBal', ballot: b })",
    replace: '',
  },
  {
    name: 'ballotinfo-without-votes',
    what: 'BallotInfo reports no votes (V = ∅)',
    file: 'core/src/replica.ts',
    find: 'for (const vote of this.votes.values()) if (vote.instance >= n) votes.push(vote)',
    replace: '',
  },
  {
    name: 'no-ticket-dedup',
    what: 'the leader executes a call whose ticket LS already claims',
    file: 'core/src/replica.ts',
    find: 'if (leader.pendingTickets.has(key)) return // proposed already, under this ticket',
    replace: '',
  },
  {
    name: 'quorum-of-half',
    what: 'any half of the members is a quorum, with or without the crown prince',
    file: 'core/src/quorum.ts',
    find: 'return 2 * count > n || (2 * count === n && withPrince)',
    replace: 'return 2 * count >= n',
  },
]

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const repoDir = join(packagesDir, '..')

/** A scratch copy of the packages with one mutant applied; returns its sim entry. */
export function buildMutant(mutant: Mutant): string {
  const root = join(tmpdir(), 'concord-mutants', `${mutant.name}-${process.pid}`)
  rmSync(root, { recursive: true, force: true })
  for (const pkg of ['core', 'machine', 'sim']) {
    cpSync(join(packagesDir, pkg), join(root, 'packages', pkg), { recursive: true, filter: (src) => !src.includes('node_modules') })
  }
  const modules = join(root, 'node_modules')
  mkdirSync(join(modules, '@concord'), { recursive: true })
  for (const pkg of ['core', 'machine', 'sim']) symlinkSync(join(root, 'packages', pkg), join(modules, '@concord', pkg))
  for (const entry of readdirSync(join(repoDir, 'node_modules'))) {
    if (entry === '@concord' || entry.startsWith('.')) continue
    symlinkSync(join(repoDir, 'node_modules', entry), join(modules, entry))
  }
  const file = join(root, 'packages', mutant.file)
  const source = readFileSync(file, 'utf8')
  if (!source.includes(mutant.find)) throw new Error(`mutant ${mutant.name}: patch target not found in ${mutant.file}`)
  writeFileSync(file, source.replace(mutant.find, mutant.replace))
  return join(root, 'packages', 'sim', 'src', 'first-failure.ts')
}

/** Delete the scratch copy that `buildMutant` made (given the path it returned). */
export function removeMutant(entry: string): void {
  rmSync(join(entry, '..', '..', '..', '..'), { recursive: true, force: true })
}

export interface MutantResult {
  name: string
  caughtAtSeed: number | null
  seedsRun: number
  property: string | null
}

/** Sweeps seeds 0.. on the mutant until one fails (at most `seedsMax`). */
export function runMutant(mutant: Mutant, seedsMax: number): MutantResult {
  const entry = buildMutant(mutant)
  const tsx = join(repoDir, 'node_modules', '.bin', 'tsx')
  if (!existsSync(tsx)) throw new Error('tsx is not installed')
  const run = spawnSync(tsx, [entry, String(seedsMax)], { encoding: 'utf8', maxBuffer: 1 << 24 })
  removeMutant(entry)
  const line = run.stdout.trim().split('\n').at(-1) ?? ''
  try {
    const parsed = JSON.parse(line) as { seed: number | null; seedsRun: number; property: string | null }
    return { name: mutant.name, caughtAtSeed: parsed.seed, seedsRun: parsed.seedsRun, property: parsed.property }
  } catch {
    throw new Error(`mutant ${mutant.name} runner failed: ${run.stderr.slice(0, 2000)}`)
  }
}
