// Child process for the lock and manifest concurrency tests (spawned compiled, see compile.ts).
//   hold <path> [staleMs]            take the lock of <path>, print "held", wait to be killed
//   count <path> <n> <counterFile>   n times under the lock: check nobody else is inside,
//                                    increment the counter with a non-atomic read-modify-write
//   add <runDir> <prefix> <n>        print "ready", wait for a stdin line, then n concurrent
//                                    manifest updates, each adding <prefix>_<j>
import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { updateManifest, withLock } from '../../src/storage/index.js';
import { baseManifest, componentEntry } from './fixtures.js';

const [mode, ...args] = process.argv.slice(2);

async function hold(path: string, staleMs: number | undefined): Promise<void> {
  await withLock(
    path,
    async () => {
      process.stdout.write('held\n');
      // Keep the process (and the lock) until the test kills it.
      setInterval(() => undefined, 60_000);
      await new Promise(() => undefined);
    },
    staleMs === undefined ? {} : { staleMs },
  );
}

async function count(path: string, n: number, counterFile: string): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    await withLock(
      path,
      async () => {
        // O_EXCL marker: fails with EEXIST if another holder is inside at the same time.
        const inside = await open(`${path}.inside`, 'wx');
        await inside.close();
        const value = Number(await readFile(counterFile, 'utf8').catch(() => '0'));
        if (Math.random() < 0.3) await sleep(Math.random() * 3);
        await writeFile(counterFile, String(value + 1));
        await unlink(`${path}.inside`);
      },
      { timeoutMs: 30_000 },
    );
  }
}

async function add(runDir: string, prefix: string, n: number): Promise<void> {
  const base = baseManifest(runDir);
  // Start together with the test's own updates: wait for its go.
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy(); // so that an open pipe does not keep this process alive
  await Promise.all(
    Array.from({ length: n }, (_, j) =>
      updateManifest(runDir, { components: [componentEntry(`${prefix}_${j}`)] }, base),
    ),
  );
}

if (mode === 'hold') await hold(args[0] ?? '', args[1] === undefined ? undefined : Number(args[1]));
else if (mode === 'count') await count(args[0] ?? '', Number(args[1]), args[2] ?? '');
else if (mode === 'add') await add(args[0] ?? '', args[1] ?? '', Number(args[2]));
else throw new Error(`unknown mode ${mode}`);
process.stdout.write('done\n');
