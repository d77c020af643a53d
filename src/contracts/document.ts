import { z } from 'zod';

/*
 * The VideoDocument (SPEC §4 Text processor): the text that comes with a video. Given to a run as
 * JSON (`run --document FILE`, the API's submit body); part of the run's identity through its
 * sha256 only, never its text (R-ID-2, R-PRV-1).
 */

/** Caps that keep a document's size bounded before anything reads it. */
export const DOCUMENT_LIMITS = {
  titleChars: 1_000,
  descriptionChars: 50_000,
  tags: 500,
  tagChars: 200,
  transcriptChars: 1_000_000,
  comments: 10_000,
  commentChars: 10_000,
  /** Bytes of the JSON file itself. */
  fileBytes: 20 * 1024 * 1024,
} as const;

export const videoCommentSchema = z
  .object({
    text: z.string().max(DOCUMENT_LIMITS.commentChars),
    author: z.string().max(200).optional(),
    likes: z.number().int().nonnegative().optional(),
    timestamp: z.string().max(64).optional(),
  })
  .strict();

export const videoDocumentSchema = z
  .object({
    title: z.string().max(DOCUMENT_LIMITS.titleChars).optional(),
    description: z.string().max(DOCUMENT_LIMITS.descriptionChars).optional(),
    tags: z.array(z.string().max(DOCUMENT_LIMITS.tagChars)).max(DOCUMENT_LIMITS.tags).optional(),
    transcript: z.string().max(DOCUMENT_LIMITS.transcriptChars).optional(),
    comments: z.array(videoCommentSchema).max(DOCUMENT_LIMITS.comments).optional(),
  })
  .strict();

export type VideoDocument = z.infer<typeof videoDocumentSchema>;
export type VideoComment = z.infer<typeof videoCommentSchema>;
