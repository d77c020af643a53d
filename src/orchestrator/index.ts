export { runVideo, CLAIMS_DIR, type RunRequest, type RunOutcome } from './run.js';
export { orchestratorConfigSchema, type OrchestratorConfig } from './config.js';
export { findCacheHit, adoptCacheHit, type CacheHit, type CacheSource } from './cache.js';
export { runScheduled, type ScheduledNode, type SchedulerLimits } from './scheduler.js';
export {
  PROFILES,
  PROFILES_SEED_PATH,
  PROFILE_SCHEMA_SQL,
  ProfileStore,
  defaultDatabasePath,
  loadProfileSeed,
  parseProfileSeed,
  parseUserProfile,
  profileDocument,
  profileDocumentSchema,
  type Profile,
  type ProfileComponent,
  type ProfileDocument,
  type ProfileModel,
} from './profiles.js';
export type { RunEvent, RunEventListener } from './events.js';
export { buildMeta, writeComponentArtifact } from './artifact-writer.js';
export {
  loadGraph,
  parseGraph,
  topologicalLevels,
  checkAgainstRegistry,
  GRAPH_PATH,
  type ComponentGraph,
  type Generation,
  type GraphNode,
} from './graph.js';
export {
  RunStateWriter,
  rebuildState,
  reduceState,
  processorStates,
  runStateSchema,
  EVENTS_FILE,
  RUN_STATE_FILE,
  STATE_DIR,
  type RunState,
  type StageState,
  type StateEvent,
} from './state.js';
