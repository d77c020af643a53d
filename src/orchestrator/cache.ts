import type { ArtifactRef, ManifestComponent, RunIdentity } from '../contracts/index.js';
import { isDeletedSince, readTombstone, type ResultStore } from '../storage/index.js';

/*
 * The idempotency cache (R-ORC-3). Its index is the result store itself: every run's manifest lists
 * each component's `idempotency_key`, status, finish time and artifacts with sha256, and manifests
 * are written atomically after every component — so the index can never disagree with the files,
 * needs no second writer, and survives a kill -9 of any run (a killed run's finished components are
 * in its manifest). A lookup reads the manifests of the runs of one (platform_id, video_id), which
 * is where a key can match (the key contains both ids).
 */

/** Where a cache hit's bytes were computed: the identity its artifacts carry (R-ID-1 for cache hits). */
export interface CacheSource {
  run_id: string;
  config_hash: string;
  dataprocessor_version: string;
  /** When the artifact was computed (the age the TTL is measured against). */
  computed_at: string;
}

export interface CacheHit {
  /** The entry in the source run's manifest. */
  entry: ManifestComponent;
  sourceRunDir: string;
  source: CacheSource;
}

export interface CacheLookup {
  store: ResultStore;
  identity: Pick<RunIdentity, 'platform_id' | 'video_id' | 'run_id'>;
  component: string;
  key: string;
  /** R-ORC-3 TTL: artifacts computed longer ago than this are not reused. */
  ttlMs: number;
  now?: number;
}

const ADOPT_CONCURRENCY = 2;

/** Statuses whose artifacts are results (an `error` or `skipped` entry is never reused). */
const REUSABLE = new Set(['ok', 'empty']);

/**
 * The newest valid entry with this key in another run of the same video, younger than the TTL;
 * null when there is none. Only the manifest is checked here; the bytes are verified by sha256 when
 * they are adopted (`adoptCacheHit`), so a corrupted source is a miss, not a wrong result.
 */
export async function findCacheHit(lookup: CacheLookup): Promise<CacheHit | null> {
  const { store, identity, key, component } = lookup;
  const now = lookup.now ?? Date.now();
  const runs = await store.listRuns(identity.platform_id, identity.video_id);
  // R-PRV-3: a run of a deleted video that outlived the deletion is never reused (tombstone).
  const tombstone = await readTombstone(store, identity.platform_id, identity.video_id);
  // Run ids sort by time (R-ID-4 default ids are timestamps); newest first.
  for (const runId of [...runs].reverse()) {
    if (runId === identity.run_id) continue;
    const sourceRunDir = store.runDir(identity.platform_id, identity.video_id, runId);
    const manifest = await store.readManifest(sourceRunDir).catch(() => null);
    if (!manifest || isDeletedSince(tombstone, manifest.run.created_at)) continue;
    const entry = manifest.components.find((c) => c.name === component && c.idempotency_key === key);
    if (!entry || !REUSABLE.has(entry.status) || entry.finished_at === null) continue;
    // A hit of a hit carries the original computation's identity and age.
    const source: CacheSource = entry.cache_source ?? {
      run_id: manifest.run.run_id,
      config_hash: manifest.run.config_hash,
      dataprocessor_version: manifest.run.dataprocessor_version,
      computed_at: entry.finished_at,
    };
    if (now - Date.parse(source.computed_at) > lookup.ttlMs) continue;
    return { entry, sourceRunDir, source };
  }
  return null;
}

/**
 * Places a hit's artifacts into `runDir` (sha256-verified hard links, atomically) and returns the
 * new run's manifest entry for it: the source entry with `cache_hit=true`, its `cache_source`, and
 * this run's timing. Throws STORAGE_IO when a source file is gone or no longer matches.
 */
export async function adoptCacheHit(
  store: ResultStore,
  runDir: string,
  hit: CacheHit,
  required: boolean,
  startedAt: Date,
  /** Artifacts to check by size only (their sha256 is then checked by whoever reads them). */
  sizeOnly: (artifact: ArtifactRef) => boolean = () => false,
): Promise<ManifestComponent> {
  // Two at a time: one file's hashing overlaps the other's reading.
  const artifacts: ArtifactRef[] = [...hit.entry.artifacts];
  for (let i = 0; i < artifacts.length; i += ADOPT_CONCURRENCY) {
    await Promise.all(
      artifacts
        .slice(i, i + ADOPT_CONCURRENCY)
        .map((a) => store.adoptArtifact(runDir, a.path, hit.sourceRunDir, a, { checkSha256: !sizeOnly(a) })),
    );
  }
  const finished = new Date();
  return {
    ...hit.entry,
    artifacts,
    started_at: startedAt.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - startedAt.getTime(),
    cache_hit: true,
    cache_source: hit.source,
    retries: 0,
    required,
    warnings: [],
    notes: `cache hit: computed by run ${hit.source.run_id} at ${hit.source.computed_at}${hit.entry.notes ? `; ${hit.entry.notes}` : ''}`,
  };
}
