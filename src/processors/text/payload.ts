// R-PRV-1: what of the raw text may leave the component — counts and salted hashes, never text.
import { createHmac } from 'node:crypto';
import type { RunIdentity } from '../../contracts/index.js';

/** How the hashes are made (recorded in meta so a reader knows what they can compare). */
export const HASH_SCHEME =
  'HMAC-SHA256(key = HMAC-SHA256(hash_salt, "platform_id/video_id"), NFC text), first 16 hex digits';

/** Salted hashing for one video: equal inputs hash equal within the video, unlinkable across videos. */
export class PayloadHasher {
  private readonly key: Buffer;

  constructor(salt: string, identity: Pick<RunIdentity, 'platform_id' | 'video_id'>) {
    this.key = createHmac('sha256', salt).update(`${identity.platform_id}/${identity.video_id}`).digest();
  }

  /** The salted hash of a text (NFC), 16 hex digits. */
  hash(text: string): string {
    return createHmac('sha256', this.key).update(text.normalize('NFC')).digest('hex').slice(0, 16);
  }

  /** The salted hash of a URL host (in its own domain, so a host never equals a field's hash). */
  hashDomain(host: string): string {
    return this.hash(`domain:${host}`);
  }
}
