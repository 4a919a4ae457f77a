// The test and development harness: one import for unit-level helpers, backends, panels,
// links, provisioning, waiting and statistics (README.md maps which piece serves which kind of
// test). Browser-only pieces (Playwright) are under ./browser/, the OTA fixtures under ./ota/.
export { Cleanups, makeTempDir, type Cleanup } from './cleanups.js';
export { useCleanups } from './use-cleanups.js';
export { sleep, waitUntil, freePort, type WaitOptions } from './wait.js';
export { percentile, median, mean, summarize, linearFit, reportFigures, type Summary } from './stats.js';
export { REPO_ROOT, buildForNode, nodeArgsFor, bundleLikeRelease } from './build.js';
export { ADMIN_TOKEN, AdminApi, ReadingFeeder, backendReadings, type ReceivedReading } from './admin.js';
export {
  startBackend,
  startBackendWithPanel,
  InProcessBackend,
  ChildBackend,
  type InProcessBackendOptions,
  type ChildBackendOptions,
} from './backend.js';
export { provisionPanel, panelConfigFor, writePanelConfig, type ProvisionOptions, type ProvisionedPanel } from './provision.js';
export { LinkProxy, proxyBackendLinks, type BackendLinks, type ProxyMode } from './links.js';
export {
  FAST_TUNING,
  startPanel,
  statesSince,
  type TestPanel,
  type RecordedState,
  type InProcessPanelOptions,
  type ChildPanelOptions,
} from './panel.js';
export { PanelProcess, PANEL_CHILD_SOURCE, type PanelEvent, type PanelProcessOptions } from './panel-process.js';
export type { PanelSample, PanelSampleRequest } from './panel-child.js';
export { FakeSds011, SENSOR_TUNING, queuedReadings, readingProblems } from './sensor.js';
export { mountTinyTmpfs, type TinyFs } from './tiny-fs.js';
// The core's own fixtures (documents, configs, a capturing logger, the recording host), shared
// with the core's unit tests, which cannot import from test/.
export {
  TEST_API_KEY,
  makeDocument,
  makeConfig,
  writePanelJson,
  capturingLogger,
  RecordingHostActions,
  type LogEntry,
} from '@airpanel/panel/core/testing/fixtures';
export { LoopbackBroker } from '@airpanel/panel/core/testing/loopback-broker';
export { startMosquitto, MOSQUITTO_BINARY, type RunningMosquitto } from '@airpanel/backend/mqtt/test-support/mosquitto-process';
export { runLength, forRunLength, type RunLength } from './run-length.js';
export { startPanelBehindLinks, type LinkedPanel } from './linked-panel.js';
