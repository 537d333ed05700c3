import { expect, test as base, type Browser, type BrowserContext, type CDPSession, type LaunchOptions, type Page } from '@playwright/test'
import type { StoreStatus } from '@concord/client'
import type { ArgsOf, Functions, Json, MachineDefinition, ResultOf } from '@concord/machine'
import { startSignalingServer, type SignalingServer } from '@concord/signaling'

/**
 * Playwright fixtures for Concord apps (issue 10 §2). A test gets a real
 * signaling server, a fresh room open in N real tabs of the app, typed
 * handles to each tab's store, and faults to inject:
 *
 *   const test = roomTest<typeof machine>()
 *   test.use({ concord: { page: '/room.html', tabs: 3 } })
 *   test('converges', async ({ room }) => {
 *     const [a, b] = room.tabs
 *     await a!.call('add', { by: 1 })
 *     expect((await room.converged()).n).toBe(1)
 *   })
 *
 * The app page opens its store with `room` and `signaling` from its URL's
 * query (or give `url`); the fixtures reach the store through the client's
 * page registry (`openStores()`), so the app exports nothing for them.
 * Each tab gets its own browser context by default — its own IndexedDB and
 * renderer process, like a tab on another device — so that crashing or
 * clearing one tab touches no other.
 */
export interface RoomOptions {
  /** The app page, relative to the project's baseURL. */
  page: string
  /** Tabs opened before the test starts (default 3). */
  tabs?: number
  /** More query parameters for every tab. */
  query?: Record<string, string | number | boolean>
  /** 'per-tab' (default): a browser context per tab; 'shared': one context (one profile) for all. */
  contexts?: 'per-tab' | 'shared'
  /** Build a tab's URL yourself (default: page?room=…&signaling=…&query). */
  url?: (room: string, signaling: string) => string
  /** How long to wait for a tab's store to open, a leader, convergence (default 20 s). */
  timeoutMs?: number
  /** A page expression giving the app's own log lines (string[]), printed for every tab when a wait of the room fails, beside each tab's status. */
  logExpression?: string
}

/** A call's outcome, without throwing. */
export type Attempt<R> = { ok: true; value: R } | { ok: false; error: string; message: string }

export interface Tab<F extends Functions = Functions> {
  readonly page: Page
  /** The tab's replica id (as of the last status(): a tab whose storage was lost rejoins under a new one). */
  readonly id: string
  /** Closed or crashed by the test. */
  readonly gone: boolean
  /** Frozen by the test (its page shows a stale status until unfrozen). */
  readonly frozen: boolean
  /** Uncaught errors of the page (and of its worker, reported to the page), in order. */
  readonly errors: readonly string[]
  call<K extends keyof F & string>(name: K, args: ArgsOf<F, K>): Promise<ResultOf<F, K>>
  attempt<K extends keyof F & string>(name: K, args: ArgsOf<F, K>): Promise<Attempt<ResultOf<F, K>>>
  state(): Promise<Record<string, Json>>
  status(): Promise<StoreStatus>
  /** Ask this tab to lead, and wait until it does. */
  lead(): Promise<void>
  /** Cut the data channel to a peer (the mesh rebuilds it). */
  cutLink(peer: Tab<F> | string): Promise<void>
  /** Stop the page's tasks and its worker (Page lifecycle 'frozen'), as a background tab. */
  freeze(): Promise<void>
  unfreeze(): Promise<void>
  /** Clear the tab's IndexedDB under the running tab, as "clear site data" does (with 'shared' contexts: every tab's). */
  clearStorage(): Promise<void>
  /** Fill the tab's storage with a ballast database until IndexedDB refuses even 1 KiB (QuotaExceededError); the bytes written. Meant for a tab opened with a `profile` on a small file system (otherwise the quota is gigabytes). */
  fillStorage(): Promise<number>
  /** Delete the ballast of fillStorage(). */
  freeStorage(): Promise<void>
  /** Reload the page (the tab's replica restarts from its storage, under the same id) and wait for its store; `query` changes the page's query parameters (a new app version, say). */
  reload(query?: Record<string, string | number | boolean>): Promise<void>
  /** Kill the tab's renderer process: no unload, no goodbye. */
  crash(): Promise<void>
  /** Close the tab as a user does. */
  close(): Promise<void>
}

export interface Room<F extends Functions = Functions> {
  readonly name: string
  /** ws:// URL of the signaling server. */
  readonly signaling: string
  /** Every tab opened, in order (closed ones too: see `live`). */
  readonly tabs: Tab<F>[]
  /** Tabs not closed, crashed or frozen. */
  live(): Tab<F>[]
  /**
   * Open one more tab (a late joiner). `profile`: a user data directory — the
   * tab gets a browser of its own, with a real on-disk profile there (put it
   * on a small file system and the tab's storage can really fill up).
   */
  open(query?: RoomOptions['query'], tabOptions?: { profile?: string }): Promise<Tab<F>>
  /** Wait until exactly one live tab leads; returns it. */
  leader(): Promise<Tab<F>>
  /** Wait until every live tab agrees on the members and each is one of them (a voter), or a learner because the voters are full. */
  formed(): Promise<void>
  /** Wait until every live tab has applied the same commands to the same state; returns the state. */
  converged(): Promise<Record<string, Json>>
  /** Await a test's own wait on the room; if it fails, print what each tab knew (as the waits above do) and rethrow. */
  explained(wait: Promise<void>): Promise<void>
}

interface Fixtures<F extends Functions> {
  concord: RoomOptions
  room: Room<F>
}

const registry = Symbol.for('concord.stores')
/** The page side: the store the app opened last (the client's registry). */
type PageStore = {
  replicaId: string
  status: StoreStatus
  state: Record<string, Json>
  call(name: string, args: unknown): Promise<unknown>
  lead(): void
  cutLink(peer: string): void
  debugWorkerStatus(): Promise<unknown>
}
declare global {
  // eslint-disable-next-line no-var
  var __concordStore: (() => PageStore) | undefined
}

const defaultTimeoutMs = 20_000
/** How long to wait on a tab's worker: its debugger's answers, or its status in a failure report. */
const workerAnswerMs = 10_000
/** What a worker's target sends back through the page's session: an answer (id) or an event (method). */
type WorkerMessage = { id?: number; method?: string; error?: unknown }
/** The database fillStorage() fills. */
const ballastDatabase = 'concord-test-ballast'
/** The core's default voter limit (votersMaxDefault): tabs beyond it are learners. */
const votersMax = 5
let rooms = 0

/** The fixtures, typed by the app's machine: `roomTest<typeof machine>()`. */
export function roomTest<M extends MachineDefinition>() {
  type F = M['functions']
  return base.extend<Fixtures<F>, { concordSignaling: SignalingServer }>({
    concordSignaling: [
      async ({}, use) => {
        const server = await startSignalingServer({ port: 0 })
        await use(server)
        await server.close()
      },
      { scope: 'worker' },
    ],
    concord: [{ page: '/', tabs: 3 }, { option: true }],
    room: async ({ browser, baseURL, concord, concordSignaling, launchOptions }, use, testInfo) => {
      const name = `t${testInfo.workerIndex}-${rooms++}-${testInfo.testId}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64)
      const room = new RoomHandle<F>(name, concordSignaling.url, concord, browser, baseURL, launchOptions)
      try {
        for (let i = 0; i < (concord.tabs ?? 3); i++) await room.open()
        // A room is open when every tab has joined: crashing a leader before
        // the last tab became a voter would leave a two-voter room without
        // its majority, which is Paxos working, not a fault under test.
        if (room.tabs.length > 0) await room.formed()
        await use(room)
      } finally {
        await room.dispose()
      }
    },
  })
}

class RoomHandle<F extends Functions> implements Room<F> {
  readonly tabs: TabHandle<F>[] = []
  private shared: BrowserContext | null = null
  private readonly contexts: BrowserContext[] = []
  private readonly timeoutMs: number

  constructor(
    readonly name: string,
    readonly signaling: string,
    private readonly options: RoomOptions,
    private readonly browser: Browser,
    private readonly baseURL: string | undefined,
    private readonly launchOptions: LaunchOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  }

  live(): Tab<F>[] {
    return this.tabs.filter((t) => !t.gone && !t.frozen)
  }

  async open(query?: RoomOptions['query'], tabOptions: { profile?: string } = {}): Promise<Tab<F>> {
    const context = tabOptions.profile !== undefined ? await this.persistentContext(tabOptions.profile) : await this.context()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => {
      errors.push(error.message)
      console.log(`[${this.name} tab ${this.tabs.length} page error] ${error.message}`)
    })
    await page.goto(this.url({ ...this.options.query, ...query }))
    const id = await attachStore(page, this.timeoutMs)
    const tab = new TabHandle<F>(page, id, this.timeoutMs, errors)
    this.tabs.push(tab)
    return tab
  }

  async leader(): Promise<Tab<F>> {
    let leader: Tab<F> | undefined
    await this.explained(expect
      .poll(async () => {
        const live = this.live()
        const roles = await Promise.all(live.map((t) => t.status().then((s) => s.role, () => 'gone')))
        const leaders = live.filter((_, i) => roles[i] === 'leader')
        leader = leaders[0]
        return leaders.length
      }, { timeout: this.timeoutMs, message: `one leader among the live tabs of room ${this.name}` })
      .toBe(1))
    return leader!
  }

  async formed(): Promise<void> {
    await this.explained(expect
      .poll(async () => {
        const statuses = await Promise.all(this.live().map((t) => t.status()))
        const members = new Set(statuses.map((s) => JSON.stringify([...s.members].sort())))
        const full = (statuses[0]?.members.length ?? 0) >= votersMax
        return members.size === 1 && statuses.every((s) => s.voter || (full && !s.members.includes(s.replicaId)))
      }, { timeout: this.timeoutMs, message: `every live tab of room ${this.name} joined` })
      .toBe(true))
  }

  async converged(): Promise<Record<string, Json>> {
    let state: Record<string, Json> = {}
    await this.explained(expect
      .poll(async () => {
        const live = this.live()
        const seen = await Promise.all(live.map(async (t) => JSON.stringify([(await t.status()).lastIssued, await t.state()])))
        state = (JSON.parse(seen[0] ?? '[0, {}]') as [number, Record<string, Json>])[1]
        return new Set(seen).size
      }, { timeout: this.timeoutMs, message: `every live tab of room ${this.name} in the same state` })
      .toBe(1))
    return state
  }

  /** Awaits a wait of the room; if it fails, prints what each tab knew (its status, its worker's, the app's log) before rethrowing: a flake in CI is diagnosed from its output. */
  async explained(wait: Promise<void>): Promise<void> {
    try {
      await wait
    } catch (error) {
      for (const [i, tab] of this.tabs.entries()) {
        // A frozen page cannot evaluate anything; a gone one has nothing to say.
        if (tab.gone || tab.frozen) continue
        // The worker is asked with a deadline: a hung worker (still paused,
        // say) is itself the finding, and must not hang the report.
        const seen = await tab.page
          .evaluate(async ([logExpression, deadlineMs]) => {
            const store = globalThis.__concordStore!()
            const log = logExpression === undefined ? [] : ((0, eval)(logExpression) as string[])
            const status = store.status
            const state = store.state
            const worker = await Promise.race([store.debugWorkerStatus(), new Promise((resolve) => setTimeout(() => resolve(`no answer from the worker within ${deadlineMs} ms`), deadlineMs))])
            return { status, state, worker, log }
          }, [this.options.logExpression, workerAnswerMs] as const)
          .catch((e: unknown) => ({ unreadable: String(e) }))
        console.log(`[room ${this.name} tab ${i} ${tab.id}] ${JSON.stringify(seen)}`)
      }
      throw error
    }
  }

  async dispose(): Promise<void> {
    for (const context of this.contexts) await context.close().catch(() => {})
  }

  private url(query: RoomOptions['query']): string {
    if (this.options.url !== undefined) return this.options.url(this.name, this.signaling)
    const params = new URLSearchParams({ room: this.name, signaling: this.signaling })
    for (const [key, value] of Object.entries(query ?? {})) params.set(key, String(value))
    return `${this.options.page}${this.options.page.includes('?') ? '&' : '?'}${params}`
  }

  private async persistentContext(profile: string): Promise<BrowserContext> {
    const context = await this.browser.browserType().launchPersistentContext(profile, { ...this.launchOptions, ...(this.baseURL !== undefined ? { baseURL: this.baseURL } : {}) })
    this.contexts.push(context)
    return context
  }

  private async context(): Promise<BrowserContext> {
    const options = this.baseURL !== undefined ? { baseURL: this.baseURL } : {}
    if (this.options.contexts === 'shared') {
      if (this.shared === null) this.contexts.push((this.shared = await this.browser.newContext(options)))
      return this.shared
    }
    const context = await this.browser.newContext(options)
    this.contexts.push(context)
    return context
  }
}

/** Wait for the page's store to open; make it reachable as `__concordStore()`; its replica id. */
async function attachStore(page: Page, timeoutMs: number): Promise<string> {
  await page.waitForFunction((key) => ((globalThis as unknown as Record<symbol, unknown[]>)[Symbol.for(key)] ?? []).length > 0, registry.description!, { timeout: timeoutMs })
  await page.evaluate((key) => {
    globalThis.__concordStore = () => {
      const stores = (globalThis as unknown as Record<symbol, PageStore[]>)[Symbol.for(key)] ?? []
      const store = stores[stores.length - 1]
      if (store === undefined) throw new Error('no Concord store is open in this page')
      return store
    }
  }, registry.description!)
  return page.evaluate(() => globalThis.__concordStore!().replicaId)
}

class TabHandle<F extends Functions> implements Tab<F> {
  gone = false
  frozen = false
  private cdp: CDPSession | null = null

  constructor(readonly page: Page, public id: string, private readonly timeoutMs: number, readonly errors: string[]) {}

  async call<K extends keyof F & string>(name: K, args: ArgsOf<F, K>): Promise<ResultOf<F, K>> {
    const outcome = await this.attempt(name, args)
    if (outcome.ok) return outcome.value
    const error = new Error(outcome.message)
    error.name = outcome.error
    throw error
  }

  attempt<K extends keyof F & string>(name: K, args: ArgsOf<F, K>): Promise<Attempt<ResultOf<F, K>>> {
    return this.page.evaluate(async ([name, args]) => {
      try {
        return { ok: true as const, value: (await globalThis.__concordStore!().call(name, args)) as never }
      } catch (error) {
        return { ok: false as const, error: (error as Error).name, message: (error as Error).message }
      }
    }, [name, args] as const)
  }

  state(): Promise<Record<string, Json>> {
    return this.page.evaluate(() => globalThis.__concordStore!().state)
  }

  async status(): Promise<StoreStatus> {
    const status = await this.page.evaluate(() => globalThis.__concordStore!().status)
    // A tab whose storage was lost rejoins under a new id.
    this.id = status.replicaId
    return status
  }

  async lead(): Promise<void> {
    // A campaign can lose (a peer voted for a higher ballot meanwhile): ask again until it leads.
    await expect
      .poll(async () => {
        const role = (await this.status()).role
        if (role !== 'leader' && role !== 'candidate') await this.page.evaluate(() => globalThis.__concordStore!().lead())
        return role
      }, { timeout: this.timeoutMs, intervals: [250, 500, 1000], message: `tab ${this.id} leads` })
      .toBe('leader')
  }

  async cutLink(peer: Tab<F> | string): Promise<void> {
    const id = typeof peer === 'string' ? peer : peer.id
    await this.page.evaluate((id) => globalThis.__concordStore!().cutLink(id), id)
  }

  /**
   * A frozen tab runs no JavaScript at all, in the page or in its worker (a
   * hung tab, a long pause): both are paused in the debugger. (The page
   * lifecycle's 'frozen' state leaves dedicated workers running.)
   */
  async freeze(): Promise<void> {
    const session = await this.session()
    await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false })
    // Attached workers are announced (Target.attachedToTarget) before setAutoAttach answers.
    if (this.workerSessions.size === 0) throw new Error(`tab ${this.id}: no worker to freeze`)
    // Each worker is seen paused before the page is: Debugger.pause only asks
    // V8 to stop at the worker's next statement, and a resume that reached a
    // worker not yet stopped would be refused, leaving it to stop for good
    // later (once in CI, on a loaded machine: the tab never came back).
    for (const worker of this.workerSessions) {
      await this.sendToWorker(worker, 'Debugger.enable')
      const paused = this.workerEvent(worker, 'Debugger.paused')
      paused.catch(() => {}) // awaited below; a failed pause command throws first
      await this.sendToWorker(worker, 'Debugger.pause')
      await paused
    }
    await session.send('Debugger.enable')
    // The page pauses at once (a `debugger` statement; Debugger.pause would wait for its next task).
    const paused = new Promise<void>((resolve) => session.once('Debugger.paused', () => resolve()))
    void session.send('Runtime.evaluate', { expression: 'debugger' }).catch(() => {})
    await paused
    this.frozen = true
  }

  async unfreeze(): Promise<void> {
    const session = await this.session()
    // Disabled once resumed: no pause left pending anywhere.
    for (const worker of this.workerSessions) {
      await this.sendToWorker(worker, 'Debugger.resume')
      await this.sendToWorker(worker, 'Debugger.disable')
    }
    await session.send('Debugger.resume')
    await session.send('Debugger.disable')
    this.frozen = false
  }

  async clearStorage(): Promise<void> {
    const origin = new URL(this.page.url()).origin
    await (await this.session()).send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' })
  }

  async fillStorage(): Promise<number> {
    return this.page.evaluate(async (name) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name, 1)
        request.onupgradeneeded = () => request.result.createObjectStore('ballast')
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
      // Random bytes (nothing compresses them), in shrinking pieces, until not even 1 KiB fits.
      let written = 0
      for (let piece = 1 << 20; piece >= 1 << 10; piece >>= 2) {
        for (;;) {
          const bytes = new Uint8Array(piece)
          for (let i = 0; i < piece; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536))
          const tx = db.transaction('ballast', 'readwrite')
          tx.objectStore('ballast').put(bytes, written)
          const ok = await new Promise<boolean>((resolve) => {
            tx.oncomplete = () => resolve(true)
            tx.onabort = () => resolve(false)
          })
          if (!ok) break
          written += piece
        }
      }
      db.close()
      return written
    }, ballastDatabase)
  }

  async freeStorage(): Promise<void> {
    await this.page.evaluate((name) => new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    }), ballastDatabase)
  }

  async reload(query?: Record<string, string | number | boolean>): Promise<void> {
    if (query === undefined) await this.page.reload()
    else {
      const url = new URL(this.page.url())
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value))
      await this.page.goto(url.href)
    }
    this.id = await attachStore(this.page, this.timeoutMs)
  }

  async crash(): Promise<void> {
    this.gone = true
    const session = await this.session()
    // Page.crash never answers: the page's crash event says it happened.
    const crashed = this.page.waitForEvent('crash', { timeout: this.timeoutMs })
    void session.send('Page.crash').catch(() => {})
    await crashed
  }

  async close(): Promise<void> {
    this.gone = true
    await this.page.close()
  }

  private readonly workerSessions = new Set<string>()
  private messageId = 0

  private async session(): Promise<CDPSession> {
    if (this.cdp === null) {
      const session = (this.cdp = await this.page.context().newCDPSession(this.page))
      session.on('Target.attachedToTarget', (event) => {
        if (event.targetInfo.type === 'worker') this.workerSessions.add(event.sessionId)
      })
      session.on('Target.detachedFromTarget', (event) => void this.workerSessions.delete(event.sessionId))
    }
    return this.cdp
  }

  /**
   * A command to a worker's target, through the page's session (non-flattened
   * attach): resolves with the worker's answer, rejects with its error.
   */
  private async sendToWorker(sessionId: string, method: string): Promise<void> {
    const id = ++this.messageId
    const answered = this.fromWorker(sessionId, (m) => m.id === id, `${method} (id ${id})`)
    await this.cdp!.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) })
    const answer = await answered
    if (answer.error !== undefined) throw new Error(`worker ${sessionId}: ${method} failed: ${JSON.stringify(answer.error)}`)
  }

  /** Resolves when the worker's target sends the event `method`. */
  private async workerEvent(sessionId: string, method: string): Promise<void> {
    await this.fromWorker(sessionId, (m) => m.method === method, method)
  }

  private fromWorker(sessionId: string, wanted: (message: WorkerMessage) => boolean, what: string): Promise<WorkerMessage> {
    const session = this.cdp!
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        session.off('Target.receivedMessageFromTarget', listener)
        reject(new Error(`tab ${this.id}: no ${what} from its worker within ${workerAnswerMs} ms`))
      }, workerAnswerMs)
      const listener = (event: { sessionId: string; message: string }) => {
        if (event.sessionId !== sessionId) return
        const message = JSON.parse(event.message) as WorkerMessage
        if (!wanted(message)) return
        clearTimeout(timer)
        session.off('Target.receivedMessageFromTarget', listener)
        resolve(message)
      }
      session.on('Target.receivedMessageFromTarget', listener)
    })
  }
}

export { expect }
