import {
  ContractViolationError,
  checkArrays,
  encodeNpz,
  npzMetaSchema,
  type ArtifactRef,
  type Component,
  type ComponentResult,
  type RunIdentity,
} from '../contracts/index.js';
import { dataprocessorVersion, modelSignature } from '../contracts/index.js';
import type { ResultStore } from '../storage/index.js';

/** The R-NPZ-2 meta of one artifact: identity, producer, status, then the component's own keys. */
export function buildMeta(
  component: Component,
  identity: RunIdentity,
  result: ComponentResult,
): Record<string, unknown> {
  const own = result.meta ?? {};
  const meta: Record<string, unknown> = {
    ...own,
    producer: component.name,
    producer_version: component.version,
    schema_version: component.schema.schemaVersion,
    created_at: new Date().toISOString(),
    ...identity,
    status: result.status,
    empty_reason: result.status === 'empty' ? result.emptyReason : null,
    device_used: result.deviceUsed ?? 'cpu',
    batch_size: result.batchSize ?? 1,
    models_used: result.modelsUsed ?? [],
    model_signature: modelSignature(result.modelsUsed ?? []),
    git_commit: dataprocessorVersion().gitCommit,
    runtime_env: { node: process.version, platform: process.platform, arch: process.arch },
  };
  return meta;
}

/**
 * Validates a component's result against its declared schema (R-NPZ-4) and the meta contract
 * (R-NPZ-2), then writes `<component>/<file>` atomically. A mismatch is CONTRACT_VIOLATION.
 */
export async function writeComponentArtifact(
  store: ResultStore,
  runDir: string,
  component: Component,
  identity: RunIdentity,
  result: ComponentResult,
  knownSymbols: Record<string, number>,
): Promise<{ ref: ArtifactRef; meta: Record<string, unknown> }> {
  if (result.status === 'empty' && !result.emptyReason) {
    throw new ContractViolationError(`${component.name} returned status "empty" without an empty_reason`);
  }
  const problems = checkArrays(component.schema, result.arrays, knownSymbols);
  const meta = buildMeta(component, identity, result);
  const metaCheck = npzMetaSchema.safeParse(meta);
  if (!metaCheck.success)
    problems.push(...metaCheck.error.issues.map((i) => `meta.${i.path.join('.')}: ${i.message}`));
  if (component.schema.meta) {
    const ownCheck = component.schema.meta.safeParse(meta);
    if (!ownCheck.success)
      problems.push(...ownCheck.error.issues.map((i) => `meta.${i.path.join('.')}: ${i.message}`));
  }
  if (problems.length > 0) {
    throw new ContractViolationError(`${component.name} output breaks its schema: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const ref = await store.writeArtifact(
    runDir,
    `${component.name}/${component.schema.file}`,
    encodeNpz(result.arrays, meta),
  );
  return { ref: { path: ref.path, type: 'npz', sha256: ref.sha256, bytes: ref.bytes }, meta };
}
