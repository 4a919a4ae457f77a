// @airpanel/contract: the product contract between panel, backend, provisioning and release
// tooling (display documents, status, commands, provisioning, levels, sensors). Internal wire
// formats of the panel itself live in `@airpanel/contract/internal`; the OTA release logic in
// `@airpanel/contract/release`.
export * from './product/primitives.js';
export * from './product/readings.js';
export * from './product/levels.js';
export * from './product/content.js';
export * from './product/sensors.js';
export * from './product/topics.js';
export * from './product/display.js';
export * from './product/status.js';
export * from './product/panel-transitions.js';
export * from './product/panel.js';
export * from './product/commands.js';
export * from './product/provisioning.js';
export * from './product/backend-api.js';
export * from './product/panel-sensor.js';
export * from './product/accounts.js';
export * from './product/alerts.js';
export * from './product/live-events.js';
export * from './levels/evaluate.js';
export * from './levels/defaults.js';
export * from './sensor/averaging.js';
