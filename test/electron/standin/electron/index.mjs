// Stand-in for the `electron` module of the image's runtime, for tests that run the runtime
// app under Node (no Electron binary here). It enforces the rule the real one enforces: the
// calls below throw once the app is ready, as Electron's do. `ready` is emitted by the
// stand-in runtime (../runtime.mjs) once the entry module has been evaluated, as Electron does.
import { EventEmitter } from 'node:events';

const calls = [];
let ready = false;

function beforeReady(name) {
  if (ready) throw new Error(`${name} can only be called before app is ready (stand-in Electron)`);
  calls.push(name);
}

class StandInApp extends EventEmitter {
  #paths = new Map();
  isReady() {
    return ready;
  }
  whenReady() {
    return ready ? Promise.resolve() : new Promise((resolve) => this.once('ready', () => resolve()));
  }
  enableSandbox() {
    beforeReady('app.enableSandbox()');
  }
  disableHardwareAcceleration() {
    beforeReady('app.disableHardwareAcceleration()');
  }
  setPath(name, path) {
    if (name === 'sessionData') beforeReady(`app.setPath('sessionData')`);
    else calls.push(`app.setPath('${name}')`);
    this.#paths.set(name, path);
  }
  getPath(name) {
    return this.#paths.get(name) ?? `/stand-in/${name}`;
  }
  quit() {
    this.emit('will-quit');
    process.exit(0);
  }
}

export const app = new StandInApp();
export const protocol = {
  registerSchemesAsPrivileged(_schemes) {
    beforeReady('protocol.registerSchemesAsPrivileged()');
  },
};

/** Not Electron's: what the stand-in runtime and the tests use. */
export const standIn = {
  calls,
  emitReady() {
    ready = true;
    app.emit('ready');
  },
};

export default { app, protocol };
