export { roomTest, expect, type Room, type Tab, type RoomOptions, type Attempt } from './fixtures.ts'
