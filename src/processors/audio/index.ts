import type { Component } from '../../contracts/index.js';
import { clapExtractor } from './components/clap_extractor.js';
import { loudnessExtractor } from './components/loudness_extractor.js';
import { speechTranscriber } from './components/speech_transcriber.js';
import { tempoExtractor } from './components/tempo_extractor.js';

export { clapExtractor, loudnessExtractor, speechTranscriber, tempoExtractor };
export type { SpeechTranscriberConfig } from './components/speech_transcriber.js';
export { SPEECH_HANDOFF } from './components/speech_transcriber.js';
export { WhisperTokenizer, decodeWindow, type WhisperSpecials, type WindowDecode } from './asr/whisper.js';
export type { ClapExtractorConfig } from './components/clap_extractor.js';
export type { TempoExtractorConfig } from './components/tempo_extractor.js';
export {
  LoudnessMeter,
  kWeightingFilters,
  gatedLoudness,
  loudnessRangeLu,
  type LoudnessResult,
} from './dsp/loudness.js';
export { readWavBlocks, parseWavHeader, type WavFormat } from './dsp/wav.js';
export { OnsetStrength, onsetParameters, type OnsetParameters, type OnsetResult } from './dsp/onset.js';
export {
  estimateTempo,
  trackBeats,
  type TempoEstimate,
  type TempoNullReason,
  type TempoOptions,
} from './dsp/tempo.js';
export { TempoAnalyzer, type TempoResult } from './dsp/tempo-analyzer.js';

/** Components of the Audio processor. */
export const audioComponents: readonly Component[] = [
  loudnessExtractor,
  tempoExtractor,
  clapExtractor,
  speechTranscriber,
];
export {
  CLAP_LOGMEL,
  WHISPER_LOGMEL,
  LogMel,
  decimate,
  repeatPad,
  slaneyMelFilters,
  whisperFeatures,
  type LogMelParameters,
} from './dsp/logmel.js';
