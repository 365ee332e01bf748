#!/usr/bin/env node
// Installed entry of the headless CLI. Runs the compiled build (npm run build / npm ci → prepare).
import '../dist/main/cli.js';
