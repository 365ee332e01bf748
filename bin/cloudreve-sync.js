#!/usr/bin/env node
// Installed entry of the headless CLI: runs the compiled build (made by `npm run build`, which `npm ci` runs).
import { main } from '../dist/main/cli.js';

main();
