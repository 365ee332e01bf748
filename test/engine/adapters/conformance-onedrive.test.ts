/** The conformance suite against the emulated onedrive (see conformance.ts). */
import { conformance } from './conformance.js';
import { onedrive } from './targets.js';

conformance(onedrive);
