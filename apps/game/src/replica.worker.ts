import { serveReplica } from '@concord/worker'
import { game } from './machine.ts'

serveReplica(game)
