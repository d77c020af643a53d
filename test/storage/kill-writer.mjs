/* global process */
// Child process for the SIGKILL test: writes artifacts and manifest updates in a loop until killed.
// Uses the compiled store (dist/) so it starts fast; `npm test` builds first.
import { randomBytes, randomInt } from 'node:crypto';
import { LocalResultStore, updateManifest } from '../../dist/storage/index.js';

const [root, platformId, videoId, runId] = process.argv.slice(2);
const store = new LocalResultStore(root);
const runDir = store.runDir(platformId, videoId, runId);
const now = () => new Date().toISOString();
const base = {
  schema_version: '1.0',
  run: {
    platform_id: platformId,
    video_id: videoId,
    run_id: runId,
    config_hash: 'a'.repeat(64),
    sampling_policy_version: 'sp_v1',
    dataprocessor_version: 'test',
    created_at: now(),
    updated_at: now(),
    frames_dir: 'frames_dir',
    root_path: runDir,
    profile: 'default',
    models: {},
    status: 'running',
    error: null,
    error_code: null,
  },
  components: [],
};
process.stdout.write('ready\n');
for (let i = 0; ; i += 1) {
  const name = `comp_${randomInt(40)}`;
  const ref = await store.writeArtifact(
    runDir,
    `${name}/${randomBytes(4).toString('hex')}.npz`,
    randomBytes(randomInt(1024, 200 * 1024)),
  );
  const t = now();
  await updateManifest(
    runDir,
    {
      run: { updated_at: t },
      components: [
        {
          name,
          kind: 'module',
          status: 'ok',
          started_at: t,
          finished_at: t,
          duration_ms: 1,
          artifacts: [{ path: ref.path, type: 'npz', sha256: ref.sha256, bytes: ref.bytes }],
          producer_version: '0.0.1',
          schema_version: '1.0',
          device_used: 'cpu',
          batch_size: 1,
          error: null,
          error_code: null,
          notes: `iteration ${i} of ${process.pid}`,
          warnings: [],
          models_used: [],
          model_signature: null,
          idempotency_key: null,
          cache_hit: false,
          retries: 0,
          required: true,
        },
      ],
    },
    base,
  );
}
