import { lstat, open, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  AUDIO_DIR,
  DataProcessorError,
  FRAMES_DIR,
  IDENTITY_KEYS,
  METADATA_FILE,
  REQUIRED_META_KEYS,
  audioMetadataSchema,
  checkArrays,
  decodeNpz,
  framesMetadataSchema,
  manifestSchema,
  npzMetaSchema,
  parseNpyHeader,
  type Manifest,
  type NpzFile,
} from '../contracts/index.js';
import type { z } from 'zod';
import { findComponent } from '../processors/index.js';
import { verifyManifestArtifacts } from '../storage/index.js';

/** The result of one rule: PASS/FAIL with evidence a person can check. */
export interface RuleResult {
  id: string;
  spec: string;
  title: string;
  pass: boolean;
  evidence: string[];
}

export interface AuditReport {
  runDir: string;
  pass: boolean;
  rules: RuleResult[];
}

/** Names that would hold raw user text (R-PRV-1); never allowed outside `_tmp_*`. */
export const RAW_TEXT_KEYS = new Set([
  'text',
  'texts',
  'raw_text',
  'transcript',
  'transcripts',
  'transcript_text',
  'comment',
  'comments',
  'ocr_text',
  'ocr_strings',
  'strings',
  'title',
  'description',
  'tags',
]);

/** Files allowed in a run directory (R-ST-2), as patterns on the run-relative path. */
const ALLOWED_FILES: RegExp[] = [
  /^manifest\.json$/,
  /^run_state\.json$/,
  /^state_events\.jsonl$/,
  /^_state\/[^/]+\.json$/,
  /^_tmp_[^/]+\/.+$/,
  /^frames_dir\/batch_\d{5}\.npy$/,
  /^frames_dir\/bucket_h\d+\/batch_\d{5}\.npy$/,
  /^frames_dir\/metadata\.json$/,
  /^frames_dir\/frame_signal\.npz$/,
  /^audio\/audio\.wav$/,
  /^audio\/metadata\.json$/,
  /^[a-z0-9_]+\/[A-Za-z0-9_.-]+\.npz$/,
];

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(root, full).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/** Batches must cover 0…count−1 contiguously, and each NPY header must match its declared shape. */
async function checkBatches(
  dir: string,
  batches: { file: string; first_union_index: number; last_union_index: number; count: number }[],
  count: number,
  width: number,
  height: number,
  where: string,
): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  for (const batch of batches) {
    if (
      batch.first_union_index !== next ||
      batch.last_union_index - batch.first_union_index + 1 !== batch.count
    ) {
      failures.push(
        `${where}/${batch.file}: covers ${batch.first_union_index}..${batch.last_union_index}, expected to start at ${next} with ${batch.count} frames`,
      );
    }
    next = batch.last_union_index + 1;
    try {
      const handle = await open(join(dir, batch.file), 'r');
      const head = new Uint8Array(4096);
      const size = (await handle.stat()).size;
      await handle.read(head, 0, head.length, 0);
      await handle.close();
      const header = parseNpyHeader(head);
      const want = [batch.count, height, width, 3];
      if (header.descr !== '|u1' || header.shape.join(',') !== want.join(',')) {
        failures.push(
          `${where}/${batch.file}: ${header.descr} [${header.shape.join(', ')}], expected |u1 [${want.join(', ')}]`,
        );
      }
      if (size !== header.dataOffset + want.reduce((a, b) => a * b, 1))
        failures.push(`${where}/${batch.file}: size ${size} does not match its shape`);
    } catch (error) {
      failures.push(`${where}/${batch.file}: ${(error as Error).message}`);
    }
  }
  if (next !== count) failures.push(`${where}: batches cover ${next} frames, expected ${count}`);
  return failures;
}

async function readJson<T>(
  runDir: string,
  name: string,
  schema: z.ZodType<T>,
  failures: string[],
): Promise<T | null> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(join(runDir, name), 'utf8')));
    if (parsed.success) return parsed.data;
    failures.push(...parsed.error.issues.map((i) => `${name} ${i.path.join('.')}: ${i.message}`));
  } catch (error) {
    failures.push(`${name} unreadable: ${(error as Error).message}`);
  }
  return null;
}

function rule(id: string, spec: string, title: string, evidence: string[], failures: string[]): RuleResult {
  return {
    id,
    spec,
    title,
    pass: failures.length === 0,
    evidence: failures.length > 0 ? failures : evidence,
  };
}

function findRawTextKeys(value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) value.forEach((v, i) => findRawTextKeys(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (RAW_TEXT_KEYS.has(k.toLowerCase())) out.push(`${path}.${k}`);
      findRawTextKeys(v, `${path}.${k}`, out);
    }
  }
}

/** Checks a finished run directory against every rule that can be checked from its files (R-ARC-3). */
/**
 * The run directory must exist and be a directory: auditing nothing is a wrong argument
 * (INPUT_INVALID), not a FAIL report and not an internal error.
 */
async function assertAuditable(runDir: string): Promise<void> {
  const usage = 'audit takes a run directory: <store>/<platform_id>/<video_id>/<run_id>';
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(runDir)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    throw new DataProcessorError('INPUT_INVALID', `${runDir} does not exist; ${usage}.`, {
      cause: error,
      details: { path: runDir },
    });
  }
  if (!isDirectory)
    throw new DataProcessorError('INPUT_INVALID', `${runDir} is not a directory; ${usage}.`, {
      details: { path: runDir },
    });
}

export async function auditRun(runDir: string): Promise<AuditReport> {
  await assertAuditable(runDir);
  const rules: RuleResult[] = [];
  const files = await listFiles(runDir);

  // R-MAN-1/2: the manifest.
  let manifest: Manifest | null = null;
  {
    const failures: string[] = [];
    try {
      const parsed = manifestSchema.safeParse(
        JSON.parse(await readFile(join(runDir, 'manifest.json'), 'utf8')),
      );
      if (parsed.success) manifest = parsed.data;
      else failures.push(...parsed.error.issues.map((i) => `manifest.${i.path.join('.')}: ${i.message}`));
    } catch (error) {
      failures.push(`manifest.json unreadable: ${(error as Error).message}`);
    }
    rules.push(
      rule(
        'manifest.schema',
        'R-MAN-1/2',
        'manifest.json exists and matches the manifest schema',
        [`${manifest?.components.length ?? 0} components`],
        failures,
      ),
    );
  }

  // Segmenter metadata.
  const metadataFailures: string[] = [];
  const frames = await readJson(
    runDir,
    `${FRAMES_DIR}/${METADATA_FILE}`,
    framesMetadataSchema,
    metadataFailures,
  );
  const audio = await readJson(
    runDir,
    `${AUDIO_DIR}/${METADATA_FILE}`,
    audioMetadataSchema,
    metadataFailures,
  );
  rules.push(
    rule(
      'segmenter.metadata',
      'R-SEG-4/6',
      'frames_dir and audio metadata match their schemas',
      ['frames_dir/metadata.json and audio/metadata.json valid'],
      metadataFailures,
    ),
  );

  // NPZ artifacts.
  // frames_dir/frame_signal.npz is the Segmenter's (checked with frames_dir below), not a component's.
  const npzFiles = files.filter(
    (f) => f.endsWith('.npz') && !f.startsWith('_tmp_') && !f.startsWith(`${FRAMES_DIR}/`),
  );
  const npz = new Map<string, NpzFile>();
  {
    const failures: string[] = [];
    for (const file of npzFiles) {
      try {
        npz.set(file, decodeNpz(await readFile(join(runDir, file))));
      } catch (error) {
        failures.push(`${file}: ${(error as Error).message}`);
      }
    }
    rules.push(
      rule(
        'npz.loadable',
        'R-NPZ-1',
        'every NPZ is a plain NumPy archive with a JSON meta (no pickles)',
        [`${npz.size} NPZ files read`],
        failures,
      ),
    );
  }

  // R-ID-1: identity agreement. A cache hit's files are byte-identical to the run that computed
  // them (R-ORC-3), so they carry that run's run_id, config_hash and dataprocessor_version, which
  // the manifest records as the entry's cache_source; everything else must be this run's.
  {
    const failures: string[] = [];
    const sources: [string, Record<string, unknown>][] = [];
    if (frames) sources.push([`${FRAMES_DIR}/${METADATA_FILE}`, frames]);
    if (audio) sources.push([`${AUDIO_DIR}/${METADATA_FILE}`, audio]);
    const signal = frames?.frame_signal ? `${FRAMES_DIR}/${frames.frame_signal.file}` : null;
    if (signal && files.includes(signal)) {
      try {
        sources.push([signal, decodeNpz(await readFile(join(runDir, signal))).meta]);
      } catch {
        // unreadable: reported by the frames rule below
      }
    }
    for (const [file, content] of npz) sources.push([file, content.meta]);
    const runIdentity: Record<string, unknown> | undefined = manifest?.run ?? sources[0]?.[1];
    if (!runIdentity) failures.push('no identity source found');
    const ownerOf = new Map(
      (manifest?.components ?? []).flatMap((c) => c.artifacts.map((a): [string, typeof c] => [a.path, c])),
    );
    let fromCache = 0;
    for (const [file, values] of sources) {
      const source = ownerOf.get(file)?.cache_source;
      if (source) fromCache += 1;
      const expected: Record<string, unknown> = { ...runIdentity, ...(source ?? {}) };
      const origin = source ? `cache source run ${source.run_id}` : 'manifest.run';
      for (const key of IDENTITY_KEYS) {
        if (values[key] !== expected[key])
          failures.push(
            `${file}: ${key}=${JSON.stringify(values[key])}, ${origin} has ${JSON.stringify(expected[key])}`,
          );
      }
    }
    if (manifest) {
      const parts = runDir.split(sep).filter(Boolean).slice(-3);
      const expected = [manifest.run.platform_id, manifest.run.video_id, manifest.run.run_id];
      if (parts.join('/') !== expected.join('/'))
        failures.push(
          `run directory ${parts.join('/')} is not <platform_id>/<video_id>/<run_id> = ${expected.join('/')}`,
        );
    }
    rules.push(
      rule(
        'identity.agreement',
        'R-ID-1',
        'the six identity values agree in manifest, metadata and every NPZ meta (cache hits: with their cache source)',
        [
          `${sources.length + (manifest ? 1 : 0)} sources agree on ${IDENTITY_KEYS.join(', ')}; ${fromCache} from the cache`,
        ],
        failures,
      ),
    );
  }

  // R-NPZ-2/3: meta keys.
  {
    const failures: string[] = [];
    for (const [file, content] of npz) {
      const missing = REQUIRED_META_KEYS.filter((k) => !(k in content.meta));
      if (missing.length > 0) failures.push(`${file}: missing meta keys ${missing.join(', ')}`);
      const parsed = npzMetaSchema.safeParse(content.meta);
      if (!parsed.success)
        failures.push(...parsed.error.issues.map((i) => `${file}: meta.${i.path.join('.')}: ${i.message}`));
    }
    rules.push(
      rule(
        'npz.meta',
        'R-NPZ-2/3',
        'every NPZ meta has the required keys, a valid status and empty_reason',
        [`${npz.size} metas valid`],
        failures,
      ),
    );
  }

  // R-NPZ-4: schemas.
  {
    const failures: string[] = [];
    for (const [file, content] of npz) {
      const name = file.split('/')[0] ?? '';
      const component = findComponent(name);
      if (!component) {
        failures.push(`${file}: no registered component "${name}"`);
        continue;
      }
      if (content.meta.producer !== name)
        failures.push(`${file}: meta.producer=${String(content.meta.producer)} but the folder is ${name}`);
      if (file !== `${name}/${component.schema.file}`)
        failures.push(`${file}: ${name} writes ${component.schema.file}`);
      if (content.meta.schema_version !== component.schema.schemaVersion) {
        failures.push(
          `${file}: schema_version ${String(content.meta.schema_version)}, code declares ${component.schema.schemaVersion}`,
        );
      }
      const known: Record<string, number> = {};
      const own = frames?.metadata[name];
      if (own && component.schema.arrays.frame_indices) known.N = own.num_indices;
      failures.push(...checkArrays(component.schema, content.arrays, known).map((p) => `${file}: ${p}`));
      if (component.schema.meta) {
        const parsed = component.schema.meta.safeParse(content.meta);
        if (!parsed.success)
          failures.push(...parsed.error.issues.map((i) => `${file}: meta.${i.path.join('.')}: ${i.message}`));
      }
    }
    rules.push(
      rule(
        'npz.schema',
        'R-NPZ-4',
        'every NPZ matches the schema its component declares in code',
        [`${npz.size} artifacts match their schemas`],
        failures,
      ),
    );
  }

  // R-MAN-2 / R-ST-3: manifest artifacts exist with matching digests; components consistent.
  if (manifest) {
    const failures: string[] = [];
    const checked = manifest.components.reduce((n, c) => n + c.artifacts.length, 0);
    const problems = await verifyManifestArtifacts(runDir, manifest);
    // R-PRV-3: frames collected by retention are gone on purpose (frames_expired), not lost.
    const expired = manifest.run.frames_expired_at
      ? problems.filter((p) => p.startsWith(`${FRAMES_DIR}/`) && p.endsWith(' is missing'))
      : [];
    failures.push(...problems.filter((p) => !expired.includes(p)));
    for (const component of manifest.components) {
      const artifactNpz = component.artifacts.filter((a) => a.type === 'npz');
      for (const a of artifactNpz) {
        const status = npz.get(a.path)?.meta.status;
        if (status !== undefined && status !== component.status)
          failures.push(
            `${component.name}: manifest status ${component.status}, NPZ meta status ${JSON.stringify(status)}`,
          );
      }
      if ((component.status === 'ok' || component.status === 'empty') && component.artifacts.length === 0) {
        failures.push(`${component.name} is ${component.status} but lists no artifacts`);
      }
    }
    const listed = new Set(manifest.components.flatMap((c) => c.artifacts.map((a) => a.path)));
    for (const file of npzFiles)
      if (!listed.has(file)) failures.push(`${file} exists but no manifest component lists it`);
    rules.push(
      rule(
        'manifest.artifacts',
        'R-MAN-2, R-ST-3',
        'every listed artifact exists with its sha256 and size; every NPZ is listed',
        [
          `${checked - expired.length} artifacts verified`,
          ...(expired.length > 0
            ? [`frames_expired: ${expired.length} frame files collected at ${manifest.run.frames_expired_at}`]
            : []),
        ],
        failures,
      ),
    );
  }

  // R-SEG-3/4: union and index consistency.
  if (frames) {
    const failures: string[] = [];
    const f = frames;
    const union = f.union_frame_indices_source;
    if (union.length !== f.total_frames)
      failures.push(`union has ${union.length} indices, total_frames=${f.total_frames}`);
    if (f.union_timestamps_sec.length !== f.total_frames)
      failures.push(
        `union_timestamps_sec has ${f.union_timestamps_sec.length} entries, total_frames=${f.total_frames}`,
      );
    for (let i = 1; i < union.length; i += 1) {
      if ((union[i] ?? 0) <= (union[i - 1] ?? 0)) {
        failures.push(`union_frame_indices_source not strictly increasing at ${i}`);
        break;
      }
    }
    const all = new Set<number>();
    for (const [name, c] of Object.entries(f.metadata)) {
      c.source_frame_indices.forEach((s) => all.add(s));
      if (c.frame_indices.length !== c.num_indices)
        failures.push(`${name}: num_indices=${c.num_indices} but ${c.frame_indices.length} indices`);
      if (c.source_frame_indices.length !== c.num_source_indices)
        failures.push(`${name}: num_source_indices mismatch`);
      const bad = c.frame_indices.findIndex(
        (u, k) => u >= f.total_frames || union[u] !== c.source_frame_indices[k],
      );
      if (bad >= 0)
        failures.push(
          `${name}: frame_indices[${bad}]=${c.frame_indices[bad]} is out of range or does not map to source_frame_indices[${bad}]=${c.source_frame_indices[bad]}`,
        );
      if (c.num_indices > c.budget.max)
        failures.push(`${name}: ${c.num_indices} frames exceed its budget max ${c.budget.max}`);
    }
    const expectedUnion = [...all].sort((a, b) => a - b);
    if (expectedUnion.join(',') !== union.join(','))
      failures.push(
        "union_frame_indices_source is not the sorted set of all components' source_frame_indices",
      );
    const framesExpired = Boolean(manifest?.run.frames_expired_at);
    // Frames collected by retention (frames_expired): the metadata is checked, the batch files not.
    const checkFiles: typeof checkBatches = framesExpired ? () => Promise.resolve([]) : checkBatches;
    failures.push(
      ...(await checkFiles(
        join(runDir, FRAMES_DIR),
        f.batches,
        f.total_frames,
        f.analysis_width,
        f.analysis_height,
        'frames_dir',
      )),
    );
    for (const [name, bucket] of Object.entries(f.buckets)) {
      const outside = bucket.union_indices.filter((u) => u >= f.total_frames);
      if (outside.length > 0)
        failures.push(`bucket ${name}: union indices ${outside.slice(0, 3).join(', ')} are out of range`);
      failures.push(
        ...(await checkFiles(
          join(runDir, FRAMES_DIR, bucket.dir),
          bucket.batches,
          bucket.union_indices.length,
          bucket.width,
          bucket.height,
          `bucket ${name}`,
        )),
      );
    }
    for (const [name, c] of Object.entries(f.metadata)) {
      if (c.bucket === null) continue;
      const bucket = f.buckets[c.bucket];
      const held = new Set(bucket?.union_indices ?? []);
      if (!bucket) failures.push(`${name}: bucket ${c.bucket} does not exist`);
      else if (c.frame_indices.some((u) => !held.has(u)))
        failures.push(`${name}: bucket ${c.bucket} lacks some of its frames`);
    }
    for (const [file, content] of npz) {
      const name = file.split('/')[0] ?? '';
      const fi = content.arrays.frame_indices;
      const own = f.metadata[name];
      if (fi && own && Array.from(fi.data as Int32Array).join(',') !== own.frame_indices.join(',')) {
        failures.push(`${file}: frame_indices differ from frames_dir metadata[${name}].frame_indices`);
      }
    }
    // The every-frame signal: one row per source frame (R-SEG-7), planes as metadata says.
    if (f.frame_signal && !framesExpired) {
      const sig = f.frame_signal;
      const file = `${FRAMES_DIR}/${sig.file}`;
      try {
        const { arrays } = decodeNpz(await readFile(join(runDir, file)));
        const shapes: Record<string, number[]> = {
          y: [f.source_total_frames, sig.height, sig.width],
          u: [f.source_total_frames, sig.height / 2, sig.width / 2],
          v: [f.source_total_frames, sig.height / 2, sig.width / 2],
          timestamps_sec: [f.source_total_frames],
        };
        if (sig.frames !== f.source_total_frames)
          failures.push(`frame_signal.frames=${sig.frames}, source_total_frames=${f.source_total_frames}`);
        for (const [name, shape] of Object.entries(shapes)) {
          const got = arrays[name]?.shape.join(',');
          if (got !== shape.join(','))
            failures.push(`${file}: ${name} is [${got ?? 'missing'}], expected [${shape.join(',')}]`);
        }
      } catch (error) {
        failures.push(`${file}: ${(error as Error).message}`);
      }
    }
    rules.push(
      rule(
        'frames.union',
        'R-SEG-3/4/5',
        'union = sorted set of sources; every index < N and maps back; batches and buckets cover their frames',
        [
          `N=${f.total_frames} union frames, ${Object.keys(f.metadata).length} components, ${f.batches.length} batches`,
          ...(framesExpired
            ? [`frames_expired at ${manifest?.run.frames_expired_at}: batch files not checked`]
            : []),
        ],
        failures,
      ),
    );
  }

  // R-ST-2: no stray result files; no leftover temp files; no symlinks.
  {
    const failures: string[] = [];
    for (const file of files) {
      if (!ALLOWED_FILES.some((re) => re.test(file))) failures.push(`${file} is not an allowed result file`);
      if ((await lstat(join(runDir, file))).isSymbolicLink()) failures.push(`${file} is a symlink`);
    }
    rules.push(
      rule(
        'store.layout',
        'R-ST-1/2',
        'only NPZ, the manifest, state files, segmenter outputs and _tmp_* scratch in the run directory',
        [`${files.length} files, all allowed`],
        failures,
      ),
    );
  }

  // R-PRV-1: no raw text outside _tmp_.
  {
    const failures: string[] = [];
    for (const [file, content] of npz) {
      for (const name of Object.keys(content.arrays))
        if (RAW_TEXT_KEYS.has(name.toLowerCase())) failures.push(`${file}: array "${name}" holds raw text`);
      const found: string[] = [];
      findRawTextKeys(content.meta, 'meta', found);
      failures.push(...found.map((k) => `${file}: ${k} holds raw text`));
    }
    if (manifest) {
      const found: string[] = [];
      findRawTextKeys(manifest, 'manifest', found);
      failures.push(...found.map((k) => `manifest.json: ${k} holds raw text`));
    }
    rules.push(
      rule(
        'privacy.no_raw_text',
        'R-PRV-1',
        'no raw text keys (comments, transcripts, OCR strings) in artifacts or the manifest',
        ['no raw text keys found'],
        failures,
      ),
    );
  }

  return { runDir, pass: rules.every((r) => r.pass), rules };
}
