import { serveReplica } from '@concord/worker'
import { e2eMachine } from './machines.ts'

serveReplica(e2eMachine)
