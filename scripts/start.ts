import { resolve } from 'node:path'
import { createServer } from 'vite'
import { startSignalingServer } from '@concord/signaling'

/**
 * `npm start`: the main job. A development signaling server (embedded
 * secret; it hands out tokens at /dev-token) and the demo apps served by
 * Vite, on localhost. Open an app in two or three tabs to watch them
 * replicate. Ctrl-C stops both.
 */
const root = resolve(import.meta.dirname, '..')
const signalingPort = Number(process.env.CONCORD_SIGNALING_PORT ?? 8787)
const appsPort = Number(process.env.CONCORD_APPS_PORT ?? 5173)

const signaling = await startSignalingServer({ port: signalingPort, host: '127.0.0.1' })
const vite = await createServer({ configFile: resolve(root, 'vite.config.ts'), server: { port: appsPort, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' })
await vite.listen()
const base = vite.resolvedUrls!.local[0]!.replace(/\/$/, '')
const signalingParam = signalingPort === 8787 ? '' : `?signaling=${encodeURIComponent(signaling.url)}`
console.log(`
Concord is running.

  Editor (collaborative text):     ${base}/editor/${signalingParam}
  Warehouse (seed 002's example):  ${base}/warehouse/${signalingParam}
  Game (2–8 players):              ${base}/game/${signalingParam}
  Inspector (a room's replicas):   ${base}/inspector/${signalingParam}
  All demos:                       ${base}/
  Signaling server:                ${signaling.url}  (health: ${signaling.httpUrl}/healthz)

Open an app in two or three tabs; each tab is a replica. Ctrl-C to stop.
`)
const stop = async () => {
  await vite.close()
  await signaling.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
