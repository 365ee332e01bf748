// `npm run soak -- [--minutes N] [--seed S] [--policy TYPE] [--mode backup|mirror] …`: the chaos soak
// (test/soak/soak.ts). The client under test is bin/cloudreve-sync.js, so the CLI's bundle is brought up to date
// first (as `npm run cli` does); the soak itself (the emulator and the chaos drivers) runs under tsx.
import { spawn, spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const cli = spawnSync(process.execPath, [root + 'scripts/bundle.mjs', '--cli'], { stdio: 'inherit' });
if (cli.status !== 0) process.exit(cli.status ?? 1);
const p = spawn(process.execPath, ['--import', 'tsx', root + 'test/soak/soak.ts', ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
// Ctrl-C reaches the soak too (same process group): it stops the chaos, kills the client and closes the server
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => p.kill(sig));
p.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
