import { parseArgs } from 'node:util'
import { startSignalingServer } from './server.ts'
import { developmentSecret } from './token.ts'

/**
 * `npx concord-signaling --port 8787 [--host 0.0.0.0]`. The room secret comes
 * from CONCORD_SIGNALING_SECRET; without it the embedded development secret
 * is used (and GET /dev-token hands out tokens), which NODE_ENV=production
 * refuses. With --redis (or CONCORD_REDIS_URL) several processes share rooms
 * through Redis (cluster.ts); without it, this process holds everything.
 */
const { values } = parseArgs({ options: { port: { type: 'string', default: '8787' }, host: { type: 'string', default: '127.0.0.1' }, redis: { type: 'string' }, help: { type: 'boolean' } } })
if (values.help) {
  console.log('usage: concord-signaling [--port 8787] [--host 127.0.0.1] [--redis redis://host:6379]   (secret: CONCORD_SIGNALING_SECRET; Redis: CONCORD_REDIS_URL)')
  process.exit(0)
}
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be 0–65535, got ${values.port}`)
  process.exit(2)
}
const secret = process.env.CONCORD_SIGNALING_SECRET
if (secret === undefined && process.env.NODE_ENV === 'production') {
  console.error('NODE_ENV=production needs CONCORD_SIGNALING_SECRET (the room secret)')
  process.exit(2)
}
if (secret !== undefined && secret.length < 16) {
  console.error('CONCORD_SIGNALING_SECRET must be at least 16 characters')
  process.exit(2)
}
const redisUrl = values.redis ?? process.env.CONCORD_REDIS_URL
const server = await startSignalingServer({ port, host: values.host, secret: secret ?? developmentSecret, ...(redisUrl !== undefined ? { redisUrl } : {}), log: (line) => console.log(line) })
console.log(`concord-signaling listening on ${server.url} (health: ${server.httpUrl}/healthz)${redisUrl !== undefined ? `, sharing rooms through ${redisUrl} as ${server.stats().cluster?.server}` : ''}${secret === undefined ? ' with the DEVELOPMENT secret; GET /dev-token?room=&peer= issues tokens' : ''}`)
const stop = () => void server.close().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
