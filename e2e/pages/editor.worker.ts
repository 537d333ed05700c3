import { serveReplica } from '@concord/worker'
import { textMachine } from './machines.ts'

serveReplica(textMachine)
