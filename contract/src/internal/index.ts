// Wire formats internal to the panel: the renderer bridge, the kiosk host's DevTools (CDP)
// link and the simulator's control channel. Not part of the backend's API.
export * from './bridge.js';
export * from './bridge-wire.js';
export * from './bridge-channels.js';
export * from './cdp.js';
export * from './simulator.js';
export * from './exit-codes.js';
