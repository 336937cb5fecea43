// Public entry of @cascade/protocol: the client wire protocol (frames, codec, codes,
// channel rules). No I/O and no server-side dependencies: the client SDK builds on it.
export * from './codes.js';
export * from './channels.js';
export * from './frames.js';
export * from './errors.js';
export * from './codec.js';
