import { serveReplica } from '@concord/worker'
import { warehouse } from './machine.ts'

serveReplica(warehouse)
