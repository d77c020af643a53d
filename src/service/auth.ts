// API keys (R-SEC-5): each key is scoped to one tenant (platform_id) and one role. Only the
// sha256 of the key's secret is stored: the secret is 256 random bits, so a fast hash is enough
// (no dictionary to search) and lookups stay cheap; comparison is constant-time. Keys live in the
// service's SQLite database, next to the profiles and the embedded queue.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ensureDirectorySync } from '../storage/index.js';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { API_KEY_ROLES, DataProcessorError, StorageError, idSchema } from '../contracts/index.js';

/** read: GET only; submit: read + submit and cancel runs; admin: submit + /metrics on the API port. */
export const ROLES = API_KEY_ROLES;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** Whether `role` includes everything `needed` may do. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  platformId: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

const KEY_PATTERN = /^dpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS service_api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  platform_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('read', 'submit', 'admin')),
  secret_sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
`;

interface KeyRow {
  id: string;
  name: string;
  platform_id: string;
  role: Role;
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
}

const toInfo = (row: KeyRow): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  platformId: row.platform_id,
  role: row.role,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

export class ApiKeyStore {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string): ApiKeyStore {
    try {
      if (path !== ':memory:') ensureDirectorySync(dirname(path));
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.exec(SCHEMA_SQL);
      return new ApiKeyStore(db);
    } catch (error) {
      throw new StorageError(`cannot open the key database ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Creates a key; the returned `key` is shown once and never stored. */
  create(input: { name: string; platformId: string; role: Role }): { key: string; info: ApiKeyInfo } {
    const platform = idSchema.safeParse(input.platformId);
    if (!platform.success)
      throw new DataProcessorError(
        'INPUT_INVALID',
        'platform_id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
      );
    const role = roleSchema.safeParse(input.role);
    if (!role.success)
      throw new DataProcessorError('INPUT_INVALID', `role must be one of ${ROLES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = new Date().toISOString();
    this.db
      .prepare(
        'INSERT INTO service_api_keys (id, name, platform_id, role, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, input.name, platform.data, role.data, sha256(secret).toString('hex'), createdAt);
    return {
      key: `dpk_${id}_${secret}`,
      info: { id, name: input.name, platformId: platform.data, role: role.data, createdAt, revokedAt: null },
    };
  }

  /** The key's identity, or null for anything malformed, unknown, revoked or wrong. */
  verify(key: string): ApiKeyInfo | null {
    const match = KEY_PATTERN.exec(key);
    if (!match) return null;
    const row = this.db.prepare('SELECT * FROM service_api_keys WHERE id = ?').get(match[1]) as
      KeyRow | undefined;
    if (!row || row.revoked_at !== null) return null;
    const expected = Buffer.from(row.secret_sha256, 'hex');
    return timingSafeEqual(expected, sha256(match[2] ?? '')) ? toInfo(row) : null;
  }

  list(): ApiKeyInfo[] {
    return (this.db.prepare('SELECT * FROM service_api_keys ORDER BY created_at, id').all() as KeyRow[]).map(
      toInfo,
    );
  }

  /** Revokes a key at once; false when there is no such active key. */
  revoke(id: string): boolean {
    const result = this.db
      .prepare('UPDATE service_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(new Date().toISOString(), id);
    return result.changes === 1;
  }

  close(): void {
    this.db.close();
  }
}
