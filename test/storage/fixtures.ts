// Manifest values for the storage tests and their child processes: valid under manifestSchema,
// shaped like what the orchestrator writes.
import {
  MANIFEST_SCHEMA_VERSION,
  computeConfigHash,
  modelSignature,
  sha256Hex,
  type ArtifactRef,
  type Manifest,
  type ManifestComponent,
} from '../../src/contracts/index.js';

export const IDS = {
  platformId: 'local',
  videoId: 'v-3f9a1c0b2d4e5f60718293a4',
  runId: '20261124T141500Z-3f9a1c',
};

/** A fresh run manifest with no components, as the orchestrator starts one. */
export function baseManifest(runDir: string, ids: typeof IDS = IDS): Manifest {
  const now = new Date().toISOString();
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    run: {
      platform_id: ids.platformId,
      video_id: ids.videoId,
      run_id: ids.runId,
      config_hash: computeConfigHash({ profile: 'baseline', components: { loudness_extractor: {} } }),
      sampling_policy_version: 'sp_v1',
      dataprocessor_version: '0.1.0',
      created_at: now,
      updated_at: now,
      frames_dir: 'frames_dir',
      root_path: runDir,
      profile: 'baseline',
      models: {},
      status: 'running',
      error: null,
      error_code: null,
    },
    components: [],
  };
}

/** A finished component entry listing `artifacts`. */
export function componentEntry(
  name: string,
  artifacts: ArtifactRef[] = [],
  notes: string | null = null,
): ManifestComponent {
  const finished = new Date();
  const started = new Date(finished.getTime() - 12);
  return {
    name,
    kind: 'module',
    status: 'ok',
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: 12,
    artifacts,
    producer_version: '1.0.0',
    schema_version: '1.0',
    device_used: 'cpu',
    batch_size: 32,
    error: null,
    error_code: null,
    notes,
    warnings: [],
    models_used: [],
    model_signature: modelSignature([]),
    idempotency_key: sha256Hex(`${name}:${artifacts.map((a) => a.sha256).join(',')}`),
    cache_hit: false,
    retries: 0,
    required: false,
  };
}
