// OTA release logic shared by panel, loader, backend and release CLI: pure, runtime-neutral.
export * from './canonical.js';
export * from './manifest.js';
export * from './version.js';
export * from './rollout.js';
export * from './policy.js';
export * from './loader-machine.js';
