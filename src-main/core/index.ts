// The firmware core's public API for hosts (Electron, headless, the simulated fleet).
// The OTA updater has its own entry point: ./update/index.js.
export { PanelCore, DEFAULT_CORE_TUNING, HOST_FAULT_FALLBACK_CODE, type PanelCoreOptions, type CoreTuning } from './panel-core.js';
export { RESTART_EXIT_CODE, type HostActions, type PanelViewSource } from './host.js';
export type { UpdateChecker } from './commands.js';
export { loadPanelConfig, validatePanelConfig, CONFIG_FAULT_CODES, type ConfigLoadResult, type ConfigFaultCode } from './config.js';
export { resolveDataDir, dataDirPaths, PANEL_DEFAULT_DATA_DIR, DATA_DIR_ENV } from './data-dir.js';
export { createPanelLogger, LOG_FILE_NAME, type PanelLoggerOptions } from './logger.js';
export { silentLogger, type Logger } from '@airpanel/node-support/logger';
export {
  systemWallClock,
  systemMonotonicClock,
  unrefScheduler,
  type WallClock,
  type MonotonicClock,
  type Scheduler,
  type TimerHandle,
  type RandomSource,
} from './clock.js';
export type { MqttClientFactory } from './mqtt-link.js';
export type { PanelState, StateTransition } from './state-machine.js';
export { DEFAULT_RECONNECT_BACKOFF, type BackoffPolicy } from './backoff.js';
export { VirtualSensor } from './sensor/virtual-sensor.js';
export type { SensorDriver, SensorSink } from './sensor/driver.js';
export { SENSOR_FAULT_CODES } from './sensor/health.js';
export type { OwnSensorTuning } from './sensor/own-sensor.js';
