import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContractViolationError,
  StorageError,
  manifestSchema,
  mergeManifest,
  type ArtifactRef,
  type Manifest,
  type ManifestComponent,
  type ManifestRun,
} from '../contracts/index.js';
import { sha256File, writeFileAtomic } from './atomic.js';
import { withLock, type LockOptions } from './lock.js';
import { assertNoSymlinks } from './paths.js';

/** The manifest's file name in a run directory (R-ST-1). */
export const MANIFEST_FILE = 'manifest.json';

/** What one {@link updateManifest} call changes: run fields, and components replaced by name. */
export interface ManifestPatch {
  run?: Partial<ManifestRun>;
  components?: ManifestComponent[];
}

function invalidManifest(runDir: string, why: string): ContractViolationError {
  return new ContractViolationError(`manifest.json in ${runDir} is invalid: ${why}`, {
    details: { runDir },
  });
}

/**
 * Reads and validates a run's manifest; null when there is none yet. A manifest that does not
 * parse or validate is CONTRACT_VIOLATION (writes are atomic, so this is corruption, not a race).
 */
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
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalidManifest(runDir, (error as Error).message);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw invalidManifest(runDir, parsed.error.message);
  return parsed.data;
}

/**
 * R-MAN-3: lock → read → merge (components by name, run fields overlaid) → validate → atomic
 * write, so concurrent stages and processes never lose each other's entries. `base` starts the
 * manifest when none exists yet. A merged manifest that breaks the schema is CONTRACT_VIOLATION
 * and is not written. Returns the manifest as written.
 */
export async function updateManifest(
  runDir: string,
  patch: ManifestPatch,
  base?: Manifest,
  lockOptions: LockOptions = {},
): Promise<Manifest> {
  const path = join(runDir, MANIFEST_FILE);
  return withLock(
    path,
    async () => {
      const current = await readManifest(runDir);
      if (current === null && base === undefined) {
        throw new StorageError(`${runDir} has no manifest yet and no base manifest was given to start one.`);
      }
      const parsed = manifestSchema.safeParse(mergeManifest(current, patch, base));
      if (!parsed.success)
        throw invalidManifest(runDir, `the update would break it: ${parsed.error.message}`);
      await writeFileAtomic(path, `${JSON.stringify(parsed.data, null, 2)}\n`);
      return parsed.data;
    },
    lockOptions,
  );
}

/**
 * Checks every artifact a manifest lists (R-ST-3): it exists as a regular file (reached without symlinks)
 * with the listed size and sha256. Returns one line per problem; [] when all match.
 */
export function verifyManifestArtifacts(runDir: string, manifest: Manifest): Promise<string[]> {
  return verifyArtifacts(
    runDir,
    manifest.components.flatMap((c) => c.artifacts),
    () => false,
  );
}

/** {@link verifyManifestArtifacts} for a list of artifacts; `sizeOnly` ones are checked by size alone. */
export async function verifyArtifacts(
  runDir: string,
  artifacts: readonly ArtifactRef[],
  sizeOnly: (artifact: ArtifactRef) => boolean,
): Promise<string[]> {
  const problems: string[] = [];
  {
    for (const artifact of artifacts) {
      const full = join(runDir, artifact.path);
      try {
        await assertNoSymlinks(runDir, full);
      } catch (error) {
        problems.push(`${artifact.path}: ${(error as Error).message}`);
        continue;
      }
      try {
        const info = await lstat(full);
        if (!info.isFile()) problems.push(`${artifact.path} is not a regular file`);
        else if (info.size !== artifact.bytes)
          problems.push(`${artifact.path}: ${info.size} bytes, the manifest says ${artifact.bytes}`);
        // Size first: hashing a large mismatched file would tell nothing more.
        else if (!sizeOnly(artifact) && (await sha256File(full)) !== artifact.sha256)
          problems.push(`${artifact.path}: sha256 differs from the manifest`);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        problems.push(
          code === 'ENOENT'
            ? `${artifact.path} is missing`
            : `${artifact.path} cannot be read: ${(error as Error).message}`,
        );
      }
    }
  }
  return problems;
}
