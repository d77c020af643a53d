import { DataProcessorError } from '../contracts/index.js';

/** One component a profile enables; required unless marked optional (R-ORC-2). */
export interface ProfileComponent {
  name: string;
  required: boolean;
}

export interface Profile {
  name: string;
  description: string;
  /** Generation of the component graph (docs/component_graph.yaml) the profile runs in. */
  generation: string;
  components: readonly ProfileComponent[];
}

/** Built-in profiles. The Segmenter always runs: every frame-reading component depends on it. */
export const PROFILES: Readonly<Record<string, Profile>> = {
  default: {
    name: 'default',
    description: 'Loudness (EBU R128) and cut detection: everything that runs offline without models.',
    generation: 'baseline',
    components: [
      { name: 'loudness_extractor', required: true },
      { name: 'cut_detection', required: true },
    ],
  },
};

export function resolveProfile(name: string): Profile {
  const profile = PROFILES[name];
  if (!profile) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `Unknown profile "${name}"; known profiles: ${Object.keys(PROFILES).join(', ')}.`,
    );
  }
  return profile;
}
