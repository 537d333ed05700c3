// The signaling scale-out tests run a real Redis (Debian's redis-server):
// installed when missing and running as root.
import { ensureDebianPackage } from './debian.mjs'

ensureDebianPackage({ path: process.env.CONCORD_REDIS_SERVER ?? '/usr/bin/redis-server', pkg: 'redis-server', tag: 'ensure-redis', env: 'CONCORD_REDIS_SERVER' })
