import { defineMachine } from '@concord/machine'
import { textFunctions } from '@concord/codemirror/machine'

/** One shared document: the binding's text functions (an edit carried to the latest version by the leader). */
export const editorMachine = defineMachine({ name: 'editor', functions: { ...textFunctions() } })
