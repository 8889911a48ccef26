export { main, type CliIo, type MainOptions } from './main.js';
export { CLI_VERSION } from './version.js';
