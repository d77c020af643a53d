import type { Component } from '../../contracts/index.js';

/** Components of the Text processor (none registered yet; see README.md). */
export const textComponents: readonly Component[] = [];
