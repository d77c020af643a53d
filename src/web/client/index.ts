// Public surface of the dashboard client's pure parts (no DOM): the signal specs plotted from NPZ
// arrays and the display downsampling — for tests and benches. The app's entry is main.ts.
export * from './signals.js';
export * from './downsample.js';
