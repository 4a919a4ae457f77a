// The panel's OTA side (Node): keys, bundle format, download, install, updater.
export * from './fsio.js';
export * from './layout.js';
export * from './keys.js';
export * from './bundle.js';
export * from './bundle-deps.js';
export * from './http.js';
export * from './download.js';
export * from './install.js';
export * from './updater.js';
export * from './health.js';
export * from './image-floor.js';
