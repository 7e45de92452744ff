#!/usr/bin/env node
'use strict';
// The CLI is bundled to dist/ by `npm ci` (the prepare script) or `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`vidkompy: ${cli} is missing; run 'npm run build' in ${path.dirname(__dirname)}\n`);
  process.exit(2);
}
require(cli).main(process.argv.slice(2)).then((code) => (process.exitCode = code));
