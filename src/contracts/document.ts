import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from './errors.js';

/**
 * Size caps of a `VideoDocument` (SPEC §4 Text processor inputs). They bound what one run may
 * hand the Text processor (memory, embedding time), well above what platforms allow (YouTube: a
 * 100-character title, a 5,000-byte description, 500 characters of tags).
 */
export const DOCUMENT_LIMITS = {
  /** Bytes of the JSON file itself, checked before it is read. */
  fileBytes: 16 * 1024 * 1024,
  titleChars: 1_000,
  descriptionChars: 50_000,
  tags: 500,
  tagChars: 200,
  transcriptChars: 2_000_000,
  comments: 20_000,
  commentChars: 10_000,
  authorChars: 200,
} as const;

const L = DOCUMENT_LIMITS;
/** Length in Unicode code points (what users count as characters; `.length` counts UTF-16 units). */
const codePoints = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
const text = (max: number) =>
  z.string().refine((s) => codePoints(s) <= max, { message: `at most ${max} characters` });

/** One comment of a video: its text, and what the platform says about it. */
export const videoCommentSchema = z
  .object({
    text: text(L.commentChars),
    /** Who wrote it (a handle or an id); only ever counted and hashed, never stored. */
    author: text(L.authorChars).optional(),
    likes: z.number().int().nonnegative().optional(),
    /** When it was posted (ISO-8601 with an offset or Z). */
    published_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type VideoComment = z.infer<typeof videoCommentSchema>;

/**
 * The text that comes with a video (SPEC §4): what the Text processor reads besides the OCR and
 * ASR handoffs. Every field is optional; unknown keys are refused (a misspelt `comment` must not
 * silently drop the comments). Validation messages name the field and the rule, never the text.
 */
export const videoDocumentSchema = z
  .object({
    title: text(L.titleChars).optional(),
    description: text(L.descriptionChars).optional(),
    tags: z.array(text(L.tagChars)).max(L.tags).optional(),
    /** A transcript supplied with the video (e.g. creator captions), as plain text. */
    transcript: text(L.transcriptChars).optional(),
    comments: z.array(videoCommentSchema).max(L.comments).optional(),
  })
  .strict();
export type VideoDocument = z.infer<typeof videoDocumentSchema>;

/** A parsed document and the sha256 of its bytes (the run's identity takes the digest, never the text). */
export interface ParsedVideoDocument {
  document: VideoDocument;
  sha256: string;
}

/**
 * Parses and validates a `VideoDocument` from the bytes of a JSON file. INPUT_INVALID (exit 2)
 * when it is too large, not JSON, or breaks the schema; messages carry field paths and rules only
 * (R-PRV-1: no text of the document in errors or logs).
 */
export function parseVideoDocument(bytes: Uint8Array): ParsedVideoDocument {
  if (bytes.byteLength > L.fileBytes)
    throw new InputError(
      'INPUT_INVALID',
      `The document is ${bytes.byteLength} bytes; at most ${L.fileBytes} are accepted.`,
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InputError('INPUT_INVALID', 'The document is not UTF-8 JSON.');
  }
  const parsed = videoDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(document)';
      const rule =
        issue.code === 'unrecognized_keys'
          ? `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`
          : issue.code === 'invalid_type'
            ? `expected ${issue.expected}`
            : issue.message;
      return `${where}: ${rule}`;
    });
    throw new InputError('INPUT_INVALID', `The document is not a VideoDocument: ${problems.join('; ')}.`, {
      details: { issues: parsed.error.issues.length },
    });
  }
  return { document: parsed.data, sha256: createHash('sha256').update(bytes).digest('hex') };
}
