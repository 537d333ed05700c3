import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

/**
 * A real Redis server (Debian's redis-server) on a free port, for tests and
 * load tests of the scale-out: nothing saved to disk, gone when stopped.
 */
export const redisServerPath = process.env.CONCORD_REDIS_SERVER ?? '/usr/bin/redis-server'

export interface RedisProcess {
  url: string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort()
  const child = spawn(redisServerPath, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${output}`)), 10_000)
    child.once('error', (error) => reject(new Error(`cannot run ${redisServerPath} (apt-get install redis-server): ${error.message}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then(() => reject(new Error(`redis-server exited:\n${output}`)))
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
