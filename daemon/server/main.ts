import { cmdWorker } from '../batch/cli';
import { startServer, STDIO_USAGE } from './server';

/**
 * `node dist/daemon.js --stdio`: the daemon on its own, for editors that start a language server
 * directly (`vidkompy daemon --stdio` starts the same server from the CLI).
 * `node dist/daemon.js worker`: a process of Run Batch's local pool (daemon/batch/local.ts forks
 * it with an IPC channel), so the extension, which ships no CLI, runs batches with its own bundle.
 */
if (process.argv[2] === 'worker' && process.send) {
  const io = { out: (s: string) => void process.stdout.write(s + '\n'), err: (s: string) => void process.stderr.write(s + '\n') };
  void cmdWorker(process.argv.slice(3), io).then((code) => (process.exitCode = code));
} else if (process.argv.includes('--stdio')) startServer();
else {
  process.stderr.write(`vidkompy daemon: ${STDIO_USAGE}\n`);
  process.exitCode = 2;
}
