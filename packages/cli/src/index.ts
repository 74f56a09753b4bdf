export { main, HELP, defaultOut } from './main.js';
export { ExitCode, UsageError, exitCodeOf } from './exit-codes.js';
export { listDevices, type DevicesReport } from './commands/devices.js';
export { deviceHolders, type Holder } from './holders.js';
export type { Out } from './progress.js';
