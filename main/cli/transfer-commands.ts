/** upload, transfers, resume, cancel — filled in by the upload-engine work. */
import type { CommandSpec } from './command.js';

export const transferCommands: Record<string, CommandSpec> = {};
