export * from './errors.js';
export * from './identity.js';
export * from './meta.js';
export * from './manifest.js';
export * from './component.js';
export * from './frames.js';
export * from './npz/index.js';
export * from './document.js';
