/** `local` policies and every policy with `relay: true`: parts go to the master (spec §5.3, §6.2). */
import type { AdapterContext, PartReceipt, PartUpload, PolicyAdapter } from './adapter.js';

export function localAdapter(ctx: AdapterContext): PolicyAdapter {
  return {
    kind: 'local',
    capabilities: { chunked: true, parallelParts: true, resumable: true, needsComplete: false, emptyFiles: true, partMultiple: 0 },
    async uploadPart({ session, part, body, signal }: PartUpload): Promise<PartReceipt> {
      await ctx.client.uploadChunk(session.session_id, part.index, body, part.length, { signal });
      return { index: part.index, etag: null };
    },
    // The request carrying the final part commits the file on the server (§5.4).
    async complete(): Promise<void> {},
  };
}
