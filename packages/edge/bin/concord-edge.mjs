#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the repository ships sources;
// the app's machine module may be TypeScript too).
import { register } from 'tsx/esm/api'
register()
await import('../src/cli.ts')
