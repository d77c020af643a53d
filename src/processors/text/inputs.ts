// The text fields of a run: the VideoDocument's, and the OCR / ASR handoffs of this run's
// `ocr` and `speech_transcriber` (read through the scratch port, R-PRV-2).
import {
  DependencyError,
  type EmptyReason,
  type NdArray,
  type VideoComment,
  type VideoDocument,
} from '../../contracts/index.js';
import { TEXT_FIELDS, type TextField } from './schemas.js';

/** One field as the component sees it: its text (items joined by line breaks) or why there is none. */
export interface FieldInput {
  name: TextField;
  /** The source was read (document given, handoff there). */
  available: boolean;
  /** The field's text; items (tags, comments, OCR strings, ASR segments) one per line. */
  text: string;
  items: number;
  emptyReason: EmptyReason | null;
}

/** The handoff files, as the producers write them (`_tmp_<area>/<file>`). */
export const HANDOFFS = {
  ocr: { component: 'ocr', area: 'ocr', file: 'ocr_text.npz', array: 'texts' },
  asr: { component: 'speech_transcriber', area: 'speech', file: 'segments.npz', array: 'text' },
} as const;

/** What the component needs of the run core (ComponentContext `inputs` + `scratch`). */
export interface HandoffSource {
  /** Names of dependencies that finished ok/empty in this run. */
  available(): string[];
  /** The dependency's status. */
  status(name: string): Promise<'ok' | 'empty'>;
  /** A `_tmp_<area>/<file>` handoff, or null when absent. */
  readNpz(area: string, file: string): Promise<Record<string, NdArray> | null>;
}

const isPresent = (text: string): boolean => /\S/u.test(text);

function documentField(name: TextField, text: string, items: number): FieldInput {
  const present = isPresent(text);
  return { name, available: true, text, items, emptyReason: present ? null : 'no_text_input' };
}

/** The document's five fields. */
export function documentFields(document: VideoDocument): FieldInput[] {
  const tags = document.tags ?? [];
  const comments: readonly VideoComment[] = document.comments ?? [];
  return [
    documentField('title', document.title ?? '', document.title === undefined ? 0 : 1),
    documentField('description', document.description ?? '', document.description === undefined ? 0 : 1),
    documentField('tags', tags.join('\n'), tags.length),
    documentField('transcript', document.transcript ?? '', document.transcript === undefined ? 0 : 1),
    documentField('comments', comments.map((c) => c.text).join('\n'), comments.length),
  ];
}

/** Every field unavailable with `reason` (the shape of an empty artifact). */
export function unavailableFields(reason: EmptyReason): FieldInput[] {
  return TEXT_FIELDS.map((name) => ({ name, available: false, text: '', items: 0, emptyReason: reason }));
}

/**
 * The OCR or ASR field. `dependency_empty` when the producer is not in the run or finished empty;
 * DEPENDENCY_MISSING when it finished ok but its handoff is gone (the run core recomputes a
 * producer whose handoff a consumer needs instead of serving it from cache without its scratch).
 */
export async function handoffField(source: HandoffSource, name: 'ocr' | 'asr'): Promise<FieldInput> {
  const h = HANDOFFS[name];
  const none: FieldInput = { name, available: false, text: '', items: 0, emptyReason: 'dependency_empty' };
  if (!source.available().includes(h.component)) return none;
  if ((await source.status(h.component)) === 'empty') return none;
  const arrays = await source.readNpz(h.area, h.file);
  const strings = arrays?.[h.array];
  if (arrays === null || strings?.dtype !== 'unicode')
    throw new DependencyError(
      'DEPENDENCY_MISSING',
      `${h.component} finished but its handoff _tmp_${h.area}/${h.file} is ${arrays === null ? 'missing' : 'malformed'}; re-run without the cache`,
      { details: { dependency: h.component, handoff: `_tmp_${h.area}/${h.file}` } },
    );
  const lines = strings.data.map((s) => s.trim()).filter((s) => s.length > 0);
  // OCR reads the same caption on many frames: each distinct string once, in order of appearance.
  const items = name === 'ocr' ? [...new Set(lines)] : lines;
  const text = items.join('\n');
  return {
    name,
    available: true,
    text,
    items: items.length,
    emptyReason: isPresent(text) ? null : 'dependency_empty',
  };
}
