/** The conformance suite against the emulated OSS, COS and OBS (the S3-like adapter with each vendor's quirks). */
import { conformance } from './conformance.js';
import { s3Like } from './targets.js';

for (const type of ['oss', 'cos', 'obs'] as const) conformance(s3Like(type));
