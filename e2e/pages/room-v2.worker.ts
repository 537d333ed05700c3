import { serveReplica } from '@concord/worker'
import { e2eMachineV2 } from './machines.ts'

serveReplica(e2eMachineV2)
