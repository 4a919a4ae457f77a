// The release feed (OTA): a self-contained fastify plugin with its own storage.
export * from './store.js';
export * from './plugin.js';
