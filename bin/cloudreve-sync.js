#!/usr/bin/env node
// Entry of the headless CLI, installed as `cloudreve-sync` and run from a checkout as `node bin/cloudreve-sync.js`.
// It runs compiled JavaScript: the bundle scripts/bundle.mjs writes to dist/cli/ (`npm ci` and `npm run build`
// make it; `npm run cli` refreshes it first). Each command loads only what it needs when it runs.
import { main } from '../dist/cli/cloudreve-sync.mjs';

main();
