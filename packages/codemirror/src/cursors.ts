import { ChangeSet, StateEffect, StateField, type Extension } from '@codemirror/state'
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view'
import type { Json } from '@concord/machine'
import type { TextClient } from './client.ts'
import { readText } from './machine.ts'

/**
 * Other tabs' cursors and selections in the editor, from presence (sent over
 * the data channels, never logged). A tab reports its selection with the
 * text version it had seen; a receiver maps it through the edits issued
 * since (the log) and through its own unissued edits, so a caret stays on
 * the character it was at while both tabs type.
 */
export interface TextUser {
  name: string
  /** A CSS colour. */
  color: string
}

/** What the binding puts in a tab's presence. */
export interface CursorPresence extends TextUser {
  cursor: { key: string; anchor: number; head: number; v: number }
}

export interface RemoteCursor extends TextUser {
  peer: string
  anchor: number
  head: number
}

export const setRemoteCursors = StateEffect.define<RemoteCursor[]>()

class CaretWidget extends WidgetType {
  constructor(readonly name: string, readonly color: string) {
    super()
  }

  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span')
    caret.className = 'cm-concord-caret'
    caret.style.borderLeft = `2px solid ${this.color}`
    caret.setAttribute('aria-hidden', 'true')
    const label = caret.appendChild(document.createElement('span'))
    label.className = 'cm-concord-caret-name'
    label.textContent = this.name
    label.style.background = this.color
    return caret
  }

  override ignoreEvent(): boolean {
    return true
  }
}

function decorations(cursors: readonly RemoteCursor[], length: number): DecorationSet {
  const ranges = []
  for (const c of cursors) {
    const anchor = Math.min(Math.max(c.anchor, 0), length)
    const head = Math.min(Math.max(c.head, 0), length)
    if (anchor !== head) {
      ranges.push(Decoration.mark({ class: 'cm-concord-selection', attributes: { style: `background-color: ${c.color}33` } }).range(Math.min(anchor, head), Math.max(anchor, head)))
    }
    ranges.push(Decoration.widget({ widget: new CaretWidget(c.name, c.color), side: 1 }).range(head))
  }
  return Decoration.set(ranges, true)
}

const remoteCursorField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes)
    for (const effect of tr.effects) if (effect.is(setRemoteCursors)) next = decorations(effect.value, tr.state.doc.length)
    return next
  },
  provide: (field) => EditorView.decorations.from(field),
})

const cursorTheme = EditorView.baseTheme({
  '.cm-concord-caret': { position: 'relative', marginLeft: '-1px', marginRight: '-1px' },
  '.cm-concord-caret-name': { position: 'absolute', top: '-1.3em', left: '-2px', fontSize: '10px', color: 'white', padding: '0 3px', borderRadius: '3px', whiteSpace: 'nowrap', pointerEvents: 'none' },
})

export const remoteCursors: Extension = [remoteCursorField, cursorTheme]

/** Other tabs' cursors on this document, mapped into this tab's text. */
export function cursorsFrom(presence: ReadonlyMap<string, Json>, client: TextClient, state: Readonly<Record<string, Json>>): RemoteCursor[] {
  const out: RemoteCursor[] = []
  const { version, log } = readText(state, client.key)
  const oldest = version - log.length
  const unissued = client.unissued()
  for (const [peer, value] of presence) {
    const p = value as Partial<CursorPresence> | null
    const cursor = p?.cursor
    if (typeof p !== 'object' || p === null || typeof cursor !== 'object' || cursor === null || cursor.key !== client.key) continue
    if (![cursor.anchor, cursor.head, cursor.v].every((n) => Number.isSafeInteger(n) && n >= 0)) continue
    let { anchor, head } = cursor
    // Through what was issued after the sender's version, up to ours.
    for (const entry of log.slice(Math.max(0, cursor.v - oldest), Math.max(0, client.version - oldest))) {
      const change = ChangeSet.fromJSON(entry.c)
      anchor = change.mapPos(Math.min(anchor, change.length), 1)
      head = change.mapPos(Math.min(head, change.length), 1)
    }
    if (unissued !== null) {
      anchor = unissued.mapPos(Math.min(anchor, unissued.length), 1)
      head = unissued.mapPos(Math.min(head, unissued.length), 1)
    }
    out.push({ peer, name: String(p.name ?? peer).slice(0, 64), color: typeof p.color === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(p.color) ? p.color : '#888888', anchor, head })
  }
  return out
}
