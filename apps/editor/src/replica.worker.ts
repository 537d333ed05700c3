import { serveReplica } from '@concord/worker'
import { editorMachine } from './machine.ts'

serveReplica(editorMachine)
