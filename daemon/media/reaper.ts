/**
 * The source of the reaper: one small Node child per vidkompy process (per thread that spawns
 * ffmpeg), run with `node -e` so it needs no file of its own beside the bundles. Its stdin is a
 * pipe from the parent, one JSON line per event: ["pid",N] / ["unpid",N] for each ffmpeg child,
 * ["file",PATH] / ["unfile",PATH] for each temp file. The pipe ends only when the parent is gone
 * (even by SIGKILL, which no handler in the parent can see): the reaper then SIGKILLs the children
 * it still knows (an encoder whose stdin closed would otherwise finish a truncated file) and
 * removes the temp files and scratch folders, and exits. It ignores SIGINT/SIGHUP: Ctrl-C reaches the whole process
 * group, and the reaper must outlive the parent long enough to clean up after it.
 */
export const REAPER_SOURCE = `
const fs = require('node:fs');
const pids = new Set();
const files = new Set();
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, () => undefined);
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  const lines = (buf + c).split('\\n');
  buf = lines.pop();
  for (const l of lines) {
    let m;
    try { m = JSON.parse(l); } catch { continue; }
    if (m[0] === 'pid') pids.add(m[1]);
    else if (m[0] === 'unpid') pids.delete(m[1]);
    else if (m[0] === 'file') files.add(m[1]);
    else if (m[0] === 'unfile') files.delete(m[1]);
  }
});
const reap = () => {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  for (const f of files) { try { fs.rmSync(f, { force: true, recursive: true }); } catch {} }
  process.exit(0);
};
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;
