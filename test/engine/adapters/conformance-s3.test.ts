/** The conformance suite against the S3 and KS3 wire protocol as the emulator serves it (real Swift: swift.test.ts). */
import { conformance } from './conformance.js';
import { s3Like } from './targets.js';

for (const type of ['s3', 'ks3'] as const) conformance(s3Like(type));
