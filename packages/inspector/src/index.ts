export { mountInspector, mountBanner, inspectorRefreshMs, type InspectorOptions, type MountedPanel } from './panel.ts'
export { InspectorModel, problemOf, eventsMax, timelineSamplesMax, reportStaleMs, type InspectorEvent, type ReplicaRow, type TimelineSample, type EventKind } from './model.ts'
