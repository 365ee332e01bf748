/** Contract DTOs for the renderer's tests: one transfer with every field set, changed by `over`. */
import type { TransferDto } from '../../main/ipc/contract.js';

export function transferDto(over: Partial<TransferDto> = {}): TransferDto {
  return {
    id: 't1',
    direction: 'upload',
    name: 'holiday-video.mp4',
    localPath: '/home/ann/Videos/holiday-video.mp4',
    targetUri: 'cloudreve://my/Backups/holiday-video.mp4',
    size: 10 * 1024 * 1024,
    state: 'uploading',
    priority: 0,
    bytesDone: 0,
    speed: 0,
    eta: null,
    encrypted: false,
    error: null,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...over,
  };
}
