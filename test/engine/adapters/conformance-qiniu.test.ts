/** The conformance suite against the emulated qiniu (see conformance.ts). */
import { conformance } from './conformance.js';
import { qiniu } from './targets.js';

conformance(qiniu);
