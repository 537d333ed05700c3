/**
 * The physical floor of one command in a room, measured in this browser
 * (issue 4 acceptance): one data-channel round trip between two peer
 * connections on this host, and one strict IndexedDB commit.
 */
async function channelPair(): Promise<[RTCDataChannel, RTCDataChannel]> {
  const a = new RTCPeerConnection()
  const b = new RTCPeerConnection()
  a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate)
  b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate)
  const ca = a.createDataChannel('floor', { negotiated: true, id: 0 })
  const cb = b.createDataChannel('floor', { negotiated: true, id: 0 })
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription!)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription!)
  await Promise.all([ca, cb].map((c) => new Promise((resolve) => (c.readyState === 'open' ? resolve(null) : (c.onopen = resolve)))))
  return [ca, cb]
}

async function roundTrips(count: number): Promise<number[]> {
  const [ca, cb] = await channelPair()
  cb.onmessage = (e) => cb.send(e.data as string)
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await new Promise<void>((resolve) => {
      ca.onmessage = () => resolve()
      ca.send(`ping ${i}`)
    })
    times.push(performance.now() - started)
  }
  return times
}

async function openFloorDb(name: string): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(`${name}-${Date.now()}`, 1)
    req.onupgradeneeded = () => req.result.createObjectStore('s')
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error)
  })
}

/** One strict commit of one small record. */
function strictCommit(db: IDBDatabase, i: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const tx = db.transaction('s', 'readwrite', { durability: 'strict' })
    tx.objectStore('s').put({ i, vote: 'x'.repeat(100) }, i)
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    // The fastest strict commit there is: without commit() the transaction
    // commits only after its request's result has come back to this thread
    // (0.6-0.7 ms here, against 0.4-0.5 with it; IdbStorage commits so too).
    tx.commit()
  })
}

async function strictCommits(count: number): Promise<number[]> {
  const db = await openFloorDb('floor')
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await strictCommit(db, i)
    times.push(performance.now() - started)
  }
  return times
}

/**
 * Two strict commits started together, in two databases of this origin, as
 * the leader's tab and a follower's tab of one browser commit their votes on
 * a command at about the same moment: the time until both are done. One
 * browser keeps every database of an origin in one backend, which commits
 * them one after the other.
 */
async function pairedStrictCommits(count: number): Promise<number[]> {
  const [a, b] = [await openFloorDb('floor-a'), await openFloorDb('floor-b')]
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await Promise.all([strictCommit(a, i), strictCommit(b, i)])
    times.push(performance.now() - started)
  }
  return times
}

/**
 * The floor of a snapshot transfer: `chars` characters sent as 16,000-char
 * frames (the framing's chunk size) over one data channel with the same
 * backpressure as the mesh, then written in one strict IndexedDB commit.
 * Returns the milliseconds of each part.
 */
async function bulkTransfer(chars: number, frameChars = 16_000): Promise<{ channelMs: number; idbMs: number }> {
  const [ca, cb] = await channelPair()
  const frame = 'x'.repeat(frameChars)
  const frames = Math.ceil(chars / frame.length)
  const started = performance.now()
  const received = new Promise<string[]>((resolve) => {
    const parts: string[] = []
    cb.onmessage = (e) => {
      parts.push(e.data as string)
      if (parts.length === frames) resolve(parts)
    }
  })
  ca.bufferedAmountLowThreshold = 256 * 1024
  for (let i = 0; i < frames; i++) {
    if (ca.bufferedAmount > 1024 * 1024) await new Promise((resolve) => (ca.onbufferedamountlow = resolve))
    ca.send(frame)
  }
  const body = (await received).join('')
  const channelMs = performance.now() - started
  const db = await openFloorDb('floor-bulk')
  const written = performance.now()
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction('s', 'readwrite', { durability: 'strict' })
    tx.objectStore('s').put({ body }, 'snapshot')
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    tx.commit()
  })
  return { channelMs, idbMs: performance.now() - written }
}

/** The same commit through IdbStorage (three stores, as a replica writes). */
async function storageCommits(count: number): Promise<number[]> {
  const { IdbStorage } = await import('@concord/storage-idb')
  const storage = await IdbStorage.open(`floor-storage-${Date.now()}`)
  const times: number[] = []
  for (let i = 1; i <= count; i++) {
    const command = { id: `c${i}`, prec: `c${i - 1}`, payload: [{ op: 'set', key: 'n', value: i }], ticket: { client: 'x', seq: i, acked: i }, result: i }
    const started = performance.now()
    await storage.write([{ kind: 'vote', vote: { instance: i, ballot: { round: 1, replica: 'a' }, command } }])
    times.push(performance.now() - started)
  }
  return times
}

Object.assign(window, { floor: { roundTrips, strictCommits, pairedStrictCommits, storageCommits, bulkTransfer } })
