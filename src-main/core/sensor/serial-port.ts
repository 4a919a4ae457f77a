import { SerialPort } from 'serialport';
import type { SerialConnection, SerialOpener } from './serial-sensor.js';

/**
 * The production opener: serialport (its N-API prebuilds ship inside the npm package, so a
 * panel image needs no compiler). 8N1, no flow control, exclusive so a second reader cannot
 * steal frames.
 */
export const openSerialPort: SerialOpener = (path, baudRate) =>
  new Promise<SerialConnection>((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, lock: true, autoOpen: false });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
