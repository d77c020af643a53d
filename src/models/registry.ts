import { DataProcessorError } from '../contracts/index.js';
import { modelCardSchema, type ModelCard } from './card.js';
import { EXTERNAL_CARDS } from './cards/external.js';
import { PACKAGED_CARDS } from './cards/packaged.js';

/**
 * R-MOD-1 model registry: name → version → card. Cards are data, validated on registration; the
 * same name may have several versions (a lookup without a version takes the last registered).
 */
export class ModelRegistry {
  readonly #cards = new Map<string, ModelCard[]>();

  constructor(cards: readonly ModelCard[] = []) {
    for (const card of cards) this.register(card);
  }

  /** Validates and adds a card; a second card with the same name and version is a bug. */
  register(card: ModelCard): ModelCard {
    const parsed = modelCardSchema.safeParse(card);
    if (!parsed.success) {
      throw new DataProcessorError(
        'CONTRACT_VIOLATION',
        `model card ${String(card.name)} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const versions = this.#cards.get(card.name) ?? [];
    if (versions.some((c) => c.version === card.version)) {
      throw new DataProcessorError(
        'CONTRACT_VIOLATION',
        `model ${card.name}@${card.version} is registered twice`,
      );
    }
    versions.push(parsed.data);
    this.#cards.set(card.name, versions);
    return parsed.data;
  }

  /** The card of `name` (and `version`); MODEL_NOT_FOUND when there is none. */
  get(name: string, version?: string): ModelCard {
    const versions = this.#cards.get(name);
    const card = version === undefined ? versions?.at(-1) : versions?.find((c) => c.version === version);
    if (card === undefined) {
      const known = [...this.#cards.keys()].join(', ');
      throw new DataProcessorError(
        'MODEL_NOT_FOUND',
        `no model ${version === undefined ? name : `${name}@${version}`} in the registry (known: ${known || 'none'})`,
        { details: { model: name, ...(version === undefined ? {} : { version }) } },
      );
    }
    return card;
  }

  has(name: string, version?: string): boolean {
    const versions = this.#cards.get(name);
    return version === undefined
      ? versions !== undefined
      : (versions?.some((c) => c.version === version) ?? false);
  }

  /** Every card, by name then registration order. */
  list(): ModelCard[] {
    return [...this.#cards.keys()].sort().flatMap((name) => this.#cards.get(name) ?? []);
  }
}

/** The registry of the models DataProcessor knows: the packaged ones and the install-only ones. */
export function builtinCards(): readonly ModelCard[] {
  return [...PACKAGED_CARDS, ...EXTERNAL_CARDS];
}

/** A fresh registry holding the builtin cards (plus `extra`, e.g. synthetic cards in tests). */
export function createRegistry(extra: readonly ModelCard[] = []): ModelRegistry {
  return new ModelRegistry([...builtinCards(), ...extra]);
}
