// Renders the contract tables of docs/ from the code's own definitions. `npm run docs` writes them
// between `<!-- generated:NAME -->` markers; test/docs.test.ts fails when a doc drifts from the code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  EMPTY_REASONS,
  ERROR_CODES,
  REQUIRED_META_KEYS,
  audioMetadataSchema,
  framesMetadataSchema,
  manifestComponentSchema,
  manifestRunSchema,
  type NpzSchema,
} from '../../src/contracts/index.js';
import { COMPONENTS } from '../../src/processors/index.js';
import { segmenterConfigSchema } from '../../src/segmenter/index.js';

export const DOCS_DIR = join(import.meta.dirname, '..', '..', 'docs');

function table(head: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Keys of a zod object with their JSON-schema type and description, for field tables. */
function fieldRows(schema: z.ZodType): string[][] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string | string[]; anyOf?: { type?: string }[]; enum?: unknown[]; description?: string; default?: unknown }>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([key, p]) => {
    const type = p.enum
      ? p.enum.map((v) => JSON.stringify(v)).join(' \\| ')
      : Array.isArray(p.type)
        ? p.type.join(' \\| ')
        : (p.type ?? p.anyOf?.map((a) => a.type ?? 'object').join(' \\| ') ?? 'any');
    return [`\`${key}\``, type, required.has(key) ? 'yes' : 'no', p.default !== undefined ? `\`${JSON.stringify(p.default)}\`` : ''];
  });
}

function npzSchemaSection(name: string, schema: NpzSchema): string {
  const rows = Object.entries(schema.arrays).map(([array, spec]) => [
    `\`${array}\``,
    spec.dtype,
    `[${spec.shape.join(', ')}]`,
    spec.unit ?? '',
    spec.description,
  ]);
  return [`### \`${name}\` → \`${name}/${schema.file}\` (schema ${schema.schemaVersion})`, '', table(['array', 'dtype', 'shape', 'unit', 'meaning'], rows)].join('\n');
}

export const GENERATED: Record<string, { file: string; render: () => string }> = {
  error_codes: {
    file: 'ERROR_HANDLING.md',
    render: () =>
      table(
        ['error_code', 'retryable', 'CLI exit code', 'what the user can do'],
        Object.entries(ERROR_CODES).map(([code, d]) => [`\`${code}\``, String(d.retryable), String(d.exitCode), d.hint]),
      ),
  },
  meta_keys: {
    file: 'ARTIFACTS_AND_SCHEMAS.md',
    render: () =>
      [
        `Required keys: ${REQUIRED_META_KEYS.map((k) => `\`${k}\``).join(', ')}.`,
        '',
        `\`empty_reason\` vocabulary: ${EMPTY_REASONS.map((k) => `\`${k}\``).join(', ')}.`,
      ].join('\n'),
  },
  manifest_fields: {
    file: 'ARTIFACTS_AND_SCHEMAS.md',
    render: () =>
      [
        '`run`:',
        '',
        table(['key', 'type', 'required', 'default'], fieldRows(manifestRunSchema)),
        '',
        '`components[]`:',
        '',
        table(['key', 'type', 'required', 'default'], fieldRows(manifestComponentSchema)),
      ].join('\n'),
  },
  component_schemas: {
    file: 'ARTIFACTS_AND_SCHEMAS.md',
    render: () => COMPONENTS.map((c) => npzSchemaSection(c.name, c.schema)).join('\n\n'),
  },
  frames_metadata: {
    file: 'SEGMENTER_CONTRACT.md',
    render: () => table(['key', 'type', 'required', 'default'], fieldRows(framesMetadataSchema)),
  },
  audio_metadata: {
    file: 'SEGMENTER_CONTRACT.md',
    render: () => table(['key', 'type', 'required', 'default'], fieldRows(audioMetadataSchema)),
  },
  segmenter_config: {
    file: 'SEGMENTER_CONTRACT.md',
    render: () => table(['key', 'type', 'required', 'default'], fieldRows(segmenterConfigSchema)),
  },
  budgets: {
    file: 'SEGMENTER_CONTRACT.md',
    render: () =>
      table(
        ['component', 'min', 'target per minute', 'max', 'min height'],
        COMPONENTS.filter((c) => c.budget).map((c) => [
          `\`${c.name}\``,
          String(c.budget?.min),
          String(c.budget?.targetPerMinute),
          String(c.budget?.max),
          String(c.minHeight ?? 'default'),
        ]),
      ),
  },
};

const marker = (name: string, edge: 'start' | 'end'): string => `<!-- generated:${name}:${edge} -->`;

/** The doc text with every generated section replaced by what the code says now. */
export function renderDoc(file: string, text: string): string {
  let out = text;
  for (const [name, section] of Object.entries(GENERATED)) {
    if (section.file !== file) continue;
    const start = marker(name, 'start');
    const end = marker(name, 'end');
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${file} lacks the markers ${start} … ${end}`);
    out = `${out.slice(0, a + start.length)}\n${section.render()}\n${out.slice(b)}`;
  }
  return out;
}

export function docFiles(): string[] {
  return [...new Set(Object.values(GENERATED).map((s) => s.file))];
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const file of docFiles()) {
    const path = join(DOCS_DIR, file);
    writeFileSync(path, renderDoc(file, readFileSync(path, 'utf8')));
    console.log(`updated docs/${file}`);
  }
}
