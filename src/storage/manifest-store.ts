import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContractViolationError,
  StorageError,
  manifestSchema,
  mergeManifest,
  sha256Hex,
  type Manifest,
  type ManifestComponent,
  type ManifestRun,
} from '../contracts/index.js';
import { writeFileAtomic } from './atomic.js';
import { withLock } from './lock.js';

export const MANIFEST_FILE = 'manifest.json';

/** Reads and validates a run's manifest; null when there is none yet. */
export async function readManifest(runDir: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(join(runDir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(`cannot read the manifest in ${runDir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new ContractViolationError(`manifest.json in ${runDir} is invalid: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * R-MAN-3: lock → read → merge (components by name) → validate → atomic write. `base` starts the
 * manifest when none exists yet.
 */
export async function updateManifest(
  runDir: string,
  patch: { run?: Partial<ManifestRun>; components?: ManifestComponent[] },
  base?: Manifest,
): Promise<Manifest> {
  const path = join(runDir, MANIFEST_FILE);
  return withLock(path, async () => {
    const current = await readManifest(runDir);
    const merged = manifestSchema.parse(mergeManifest(current, patch, base));
    await writeFileAtomic(path, `${JSON.stringify(merged, null, 2)}\n`);
    return merged;
  });
}

/** Problems with the artifacts a manifest lists: missing files, size or sha256 mismatches. */
export async function verifyManifestArtifacts(runDir: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = [];
  for (const component of manifest.components) {
    for (const artifact of component.artifacts) {
      try {
        const bytes = await readFile(join(runDir, artifact.path));
        if (bytes.length !== artifact.bytes)
          problems.push(`${artifact.path}: ${bytes.length} bytes, manifest says ${artifact.bytes}`);
        else if (sha256Hex(bytes) !== artifact.sha256) problems.push(`${artifact.path}: sha256 mismatch`);
      } catch {
        problems.push(`${artifact.path} is missing`);
      }
    }
  }
  return problems;
}
