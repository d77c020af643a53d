export { runVideo } from './run.js';
export {
  compileRun,
  applyProfileMapping,
  parseConfig,
  type RunEnvironment,
  type RunRequest,
} from './compile.js';
export { executeRun, type ExecuteOptions, type RunOutcome } from './execute.js';
export { runPlanSchema, planStageSchema, PLAN_VERSION, type RunPlan, type PlanStage } from './plan.js';
export { blankEntryOf, resolveStage, type StageContext, type StageCompute } from './stage.js';
export { storeDependencyInputs, storeScratchSpace } from './inputs.js';
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
  type Profile,
  type ProfileComponent,
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
  type GraphGeneration,
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
