/**
 * The setting of the two-way sync tests: the emulator, an engine on a fresh home (fast retries), another client on
 * the same account playing "the web page / another computer", and this computer's freedesktop trash under a
 * temporary XDG_DATA_HOME (the `trash` package writes there), restored by close().
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CloudreveClient } from '../../main/engine/api/client.js';
import { createEngine, type Engine } from '../../main/engine/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tmpDir, type TmpDir } from './tmp-tree.js';

export const FAST_RETRY = { baseMs: 20, maxMs: 100, factor: 2, jitter: 0.2, maxAttemptsWithoutProgress: 3 };

export interface TwoWayEnv {
  emu: Emulator;
  dir: TmpDir;
  engine: Engine;
  /** another client on the same account */
  other: CloudreveClient;
  /** $XDG_DATA_HOME/Trash */
  trashDir: string;
  /** the original base names of what is in the trash (its info files say where each came from) → the trashed copy */
  trashedPaths(): Map<string, string>;
  /** the names in the trash's files folder, sorted */
  trashedFiles(): string[];
  /** another device writes `body` at `uri` (a new version over what is there) */
  put(uri: string, body: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTwoWayEnv(): Promise<TwoWayEnv> {
  const savedXdg = process.env.XDG_DATA_HOME;
  const emu = await startEmulator({ policy: { type: 'local', chunkSize: 64 * 1024 } });
  const dir = tmpDir();
  process.env.XDG_DATA_HOME = join(dir.path, 'xdg');
  const trashDir = join(dir.path, 'xdg', 'Trash');
  const engine = await createEngine({ home: join(dir.path, 'home'), retry: FAST_RETRY, settleMs: 100 });
  await engine.login(emu.url, emu.email, emu.password);
  const other = new CloudreveClient({ baseUrl: emu.url, clientId: '0b3f6a52-8f35-4a5e-9d0a-2f8f3d2d7a13' });
  await other.login(emu.email, emu.password);
  return {
    emu,
    dir,
    engine,
    other,
    trashDir,
    trashedPaths() {
      const out = new Map<string, string>();
      const info = join(trashDir, 'info');
      if (!existsSync(info)) return out;
      for (const f of readdirSync(info)) {
        const m = /^Path=(.*)$/m.exec(readFileSync(join(info, f), 'utf8'));
        if (m) out.set(decodeURIComponent(m[1]).split('/').pop()!, join(trashDir, 'files', f.replace(/\.trashinfo$/, '')));
      }
      return out;
    },
    trashedFiles() {
      return existsSync(join(trashDir, 'files')) ? readdirSync(join(trashDir, 'files')).sort() : [];
    },
    async put(uri, body) {
      const b = Buffer.from(body);
      let previous: string | undefined;
      try {
        previous = (await other.info(uri)).primary_entity ?? undefined;
      } catch {
        previous = undefined;
      }
      await other.putContent(uri, b, b.length, previous ? { previous } : {});
    },
    async close() {
      await engine.close();
      await emu.close();
      dir.cleanup();
      if (savedXdg === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = savedXdg;
    },
  };
}
