import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { StorageError } from '../../contracts/index.js';
import type { S3StoreOptions } from './uri.js';

/*
 * The one adapter between DataProcessor and an S3-compatible server (like `callFf` for ffmpeg):
 * every request goes through `send`, which maps failures to STORAGE_IO after the SDK's retries
 * (standard mode: exponential backoff with jitter on 5xx, throttling and network errors). The SDK
 * is imported lazily so that commands on a local store never load it.
 */

import type * as S3Sdk from '@aws-sdk/client-s3';

type Sdk = typeof S3Sdk;
type Client = S3Sdk.S3Client;

/** What a HEAD tells about a stored object. */
export interface ObjectInfo {
  bytes: number;
  /** The sha256 (hex) recorded at upload in the object's metadata; null when it has none. */
  sha256: string | null;
  /** The server-verified SHA256 checksum (hex) where the server keeps one; null otherwise. */
  checksumSha256: string | null;
  modifiedMs: number;
}

/** One object of a listing; `key` is relative to the listed prefix. */
export interface ListedObject {
  key: string;
  bytes: number;
  modifiedMs: number;
}

/** A conditional write that lost: the object already exists (HTTP 412). */
export class ObjectExistsError extends StorageError {}

const SHA256_META = 'sha256';

let sdkPromise: Promise<Sdk> | null = null;
function loadSdk(): Promise<Sdk> {
  // The SDK warns on stderr about Node < 22 on first use; the CLI's stderr is for errors only.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (sdkPromise ??= import('@aws-sdk/client-s3'));
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function base64ToHex(value: string | undefined): string | null {
  // A full-object checksum is plain base64; a multipart composite one ends in "-<parts>".
  if (!value || value.includes('-')) return null;
  return Buffer.from(value, 'base64').toString('hex');
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3Adapter {
  private clientPromise: Promise<{ sdk: Sdk; client: Client }> | null = null;

  constructor(readonly options: S3StoreOptions) {}

  /** `s3://bucket/<key>` for messages. */
  describe(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  private connect(): Promise<{ sdk: Sdk; client: Client }> {
    return (this.clientPromise ??= loadSdk().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: this.options.region,
        ...(this.options.endpoint ? { endpoint: this.options.endpoint, forcePathStyle: true } : {}),
        maxAttempts: this.options.maxAttempts,
        retryMode: 'standard',
        // We send our own SHA256 checksums; the SDK's default CRC32 on every request is not
        // understood by every S3-compatible server.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    })));
  }

  /** Runs one request; every failure becomes STORAGE_IO (retryable) naming the operation and key. */
  private async send<T>(
    what: string,
    key: string,
    run: (sdk: Sdk, client: Client) => Promise<T>,
  ): Promise<T> {
    const { sdk, client } = await this.connect();
    try {
      return await run(sdk, client);
    } catch (error) {
      const status = statusOf(error);
      const message = `${what} ${this.describe(key)} failed${status ? ` (HTTP ${status})` : ''}: ${(error as Error).message}`;
      if (status === 412) throw new ObjectExistsError(message, { cause: error, details: { key } });
      throw new StorageError(message, { cause: error, details: { key, status: status ?? null } });
    }
  }

  async ensureBucket(): Promise<void> {
    await this.send('HEAD bucket', '', (sdk, client) =>
      client.send(new sdk.HeadBucketCommand({ Bucket: this.options.bucket })),
    );
  }

  /**
   * Uploads a whole object with its sha256: as metadata (read back by every server) and as the
   * SHA256 checksum header (verified by servers that support it). `ifNoneMatch` makes it a
   * create-only write where the server supports conditional writes (HTTP 412 otherwise).
   */
  async putBytes(key: string, body: Uint8Array, sha256: string, ifNoneMatch = false): Promise<void> {
    await this.send('PUT', key, (sdk, client) =>
      client.send(
        new sdk.PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ChecksumSHA256: hexToBase64(sha256),
          Metadata: { [SHA256_META]: sha256 },
          ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      ),
    );
  }

  /** Uploads a local file (in parts at or above the multipart threshold). */
  async putFile(
    key: string,
    path: string,
    known: { sha256: string; bytes: number },
    ifNoneMatch = false,
  ): Promise<void> {
    if (known.bytes < this.options.multipartThresholdBytes) {
      const handle = await open(path, 'r');
      try {
        const body = await handle.readFile();
        await this.putBytes(key, body, known.sha256, ifNoneMatch);
      } finally {
        await handle.close();
      }
      return;
    }
    await this.putMultipart(key, path, known, ifNoneMatch);
  }

  /**
   * Multipart upload: parts of `partBytes` read one at a time (memory stays at one part), each with
   * its own SHA256 checksum; aborted on any failure so no parts are left billed.
   */
  private async putMultipart(
    key: string,
    path: string,
    known: { sha256: string; bytes: number },
    ifNoneMatch: boolean,
  ): Promise<void> {
    const created = await this.send('CreateMultipartUpload', key, (sdk, client) =>
      client.send(
        new sdk.CreateMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: key,
          Metadata: { [SHA256_META]: known.sha256 },
          ChecksumAlgorithm: 'SHA256',
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId)
      throw new StorageError(`CreateMultipartUpload ${this.describe(key)} returned no upload id`);
    const handle = await open(path, 'r');
    try {
      const parts: { ETag: string; PartNumber: number; ChecksumSHA256: string }[] = [];
      for (let offset = 0, number = 1; offset < known.bytes; offset += this.options.partBytes, number += 1) {
        const length = Math.min(this.options.partBytes, known.bytes - offset);
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        if (bytesRead !== length) throw new StorageError(`${path} changed while it was being uploaded`);
        const checksum = createHash('sha256').update(buffer).digest('base64');
        const part = await this.send(`UploadPart ${number}`, key, (sdk, client) =>
          client.send(
            new sdk.UploadPartCommand({
              Bucket: this.options.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: number,
              Body: buffer,
              ContentLength: length,
              ChecksumSHA256: checksum,
            }),
          ),
        );
        parts.push({ ETag: part.ETag ?? '', PartNumber: number, ChecksumSHA256: checksum });
      }
      await this.send('CompleteMultipartUpload', key, (sdk, client) =>
        client.send(
          new sdk.CompleteMultipartUploadCommand({
            Bucket: this.options.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          }),
        ),
      );
    } catch (error) {
      await this.send('AbortMultipartUpload', key, (sdk, client) =>
        client.send(
          new sdk.AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: key, UploadId: uploadId }),
        ),
      ).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
  }

  /** HEAD; null when the object does not exist. */
  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.send('HEAD', key, (sdk, client) =>
        client.send(
          new sdk.HeadObjectCommand({ Bucket: this.options.bucket, Key: key, ChecksumMode: 'ENABLED' }),
        ),
      );
      return {
        bytes: out.ContentLength ?? 0,
        sha256: out.Metadata?.[SHA256_META] ?? null,
        checksumSha256: base64ToHex(out.ChecksumSHA256),
        modifiedMs: out.LastModified?.getTime() ?? 0,
      };
    } catch (error) {
      if ((error as StorageError).details.status === 404) return null;
      throw error;
    }
  }

  /** The object's bytes; null when it does not exist. */
  async get(key: string): Promise<Uint8Array | null> {
    try {
      return await this.send('GET', key, async (sdk, client) => {
        const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
        return (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      });
    } catch (error) {
      if ((error as StorageError).details.status === 404) return null;
      throw error;
    }
  }

  /** Streams the object into `path` (the caller writes to a temp name and verifies); returns its sha256. */
  async download(key: string, path: string): Promise<{ sha256: string; bytes: number }> {
    return this.send('GET', key, async (sdk, client) => {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      const hash = createHash('sha256');
      let bytes = 0;
      const body = out.Body as Readable;
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      await pipeline(body, createWriteStream(path, { flags: 'wx', mode: 0o644 }));
      return { sha256: hash.digest('hex'), bytes };
    });
  }

  /** Server-side copy (no bytes through this machine); metadata (the sha256) is copied along. */
  async copy(sourceKey: string, targetKey: string): Promise<void> {
    await this.send('CopyObject', targetKey, (sdk, client) =>
      client.send(
        new sdk.CopyObjectCommand({
          Bucket: this.options.bucket,
          Key: targetKey,
          CopySource: encodeURI(`${this.options.bucket}/${sourceKey}`),
          MetadataDirective: 'COPY',
        }),
      ),
    );
  }

  /**
   * Lists everything under `prefix` (paginated). With `delimiter`, returns the next level's
   * "folders" in `prefixes` (relative, without the trailing delimiter) and only the objects at
   * this level. The folders are derived here from the full listing rather than asked of the server
   * (`Delimiter`): some S3-compatible servers (s3rver) omit a folder that holds only folders.
   */
  async list(prefix: string, delimiter?: string): Promise<{ objects: ListedObject[]; prefixes: string[] }> {
    const all: ListedObject[] = [];
    let token: string | undefined;
    do {
      const out = await this.send('LIST', prefix, (sdk, client) =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of out.Contents ?? [])
        if (o.Key)
          all.push({
            key: o.Key.slice(prefix.length),
            bytes: o.Size ?? 0,
            modifiedMs: o.LastModified?.getTime() ?? 0,
          });
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    if (!delimiter) return { objects: all, prefixes: [] };
    const prefixes = new Set<string>();
    const objects: ListedObject[] = [];
    for (const o of all) {
      const cut = o.key.indexOf(delimiter);
      if (cut < 0) objects.push(o);
      else prefixes.add(o.key.slice(0, cut));
    }
    return { objects, prefixes: [...prefixes].sort() };
  }

  /** Deletes keys, 1000 per request; a key that is already gone is not an error. */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.send('DeleteObjects', batch[0] ?? '', (sdk, client) =>
        client.send(
          new sdk.DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0)
        throw new StorageError(
          `cannot delete ${failed.length} objects, e.g. ${this.describe(failed[0]?.Key ?? '')}: ${failed[0]?.Message ?? failed[0]?.Code ?? ''}`,
        );
    }
  }

  /** Deletes every object under `prefix`; returns how many objects and bytes were removed. */
  async deletePrefix(prefix: string): Promise<{ files: number; bytes: number }> {
    const { objects } = await this.list(prefix);
    await this.deleteKeys(objects.map((o) => `${prefix}${o.key}`));
    return { files: objects.length, bytes: objects.reduce((a, o) => a + o.bytes, 0) };
  }

  /** Streams a local file's sha256 (for uploads of files written by other tools). */
  static async sha256Of(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
}
