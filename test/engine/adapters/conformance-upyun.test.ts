/** The conformance suite against the emulated upyun (see conformance.ts). */
import { conformance } from './conformance.js';
import { upyun } from './targets.js';

conformance(upyun);
