// The shared contract between panel and backend: the one place for these shapes.
export * from './contract/primitives.js';
export * from './contract/readings.js';
export * from './contract/levels.js';
export * from './contract/content.js';
export * from './contract/sensors.js';
export * from './contract/topics.js';
export * from './contract/display.js';
export * from './contract/status.js';
export * from './contract/panel.js';
export * from './contract/commands.js';
export * from './contract/provisioning.js';
export * from './levels/evaluate.js';
export * from './levels/defaults.js';
export * from './contract/bridge.js';
export * from './contract/bridge-wire.js';
export * from './contract/backend-api.js';
export * from './contract/panel-sensor.js';
