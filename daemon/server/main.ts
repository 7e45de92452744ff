import { startServer, STDIO_USAGE } from './server';

/**
 * `node dist/daemon.js --stdio`: the daemon on its own, for editors that start a language server
 * directly (`vidkompy daemon --stdio` starts the same server from the CLI).
 */
if (process.argv.includes('--stdio')) startServer();
else {
  process.stderr.write(`vidkompy daemon: ${STDIO_USAGE}\n`);
  process.exitCode = 2;
}
