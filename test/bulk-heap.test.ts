/**
 * pink parity re-runs itself with larger semi-spaces when PINK_BULK_SEMI_SPACE_MB asks
 * (src/cli/bulk-heap.ts): which commands do, what turns it on and off, and, through the
 * real CLI, that the child gets the flag, the parent passes a termination signal on and
 * ends as the child did. pink replay and pink parity set their old space to grow by half its
 * live size and keep their young generation small: which commands, what turns each off, a
 * bad setting refused by the real CLI before anything runs.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BulkHeapSettingError, bulkRerun, leanHeapFlags } from '../src/cli/bulk-heap.js';
import { CLI, cliEnv, REPO } from './support/cli.js';

const NODE = ['/usr/bin/node', '/opt/pink/dist/cli/main.js'];
type Env = Record<string, string | undefined>;
/** The young-generation re-run alone: as on a system without glibc. */
const bulkRerunArgs = (argv: string[], execArgv: string[], env: Env) =>
  bulkRerun(argv, execArgv, env, () => false)?.args ?? null;
const onGlibc = (argv: string[], env: Env, execArgv: string[] = []) =>
  bulkRerun(argv, execArgv, env, () => true);

describe('bulkRerunArgs', () => {
  it('runs parity in this process unless asked (the larger young generation no longer pays)', () => {
    expect(bulkRerunArgs([...NODE, 'parity', '--data', 'x.jsonl'], [], {})).toBeNull();
    expect(bulkRerunArgs([...NODE, 'parity'], [], { PINK_BULK_SEMI_SPACE_MB: '' })).toBeNull();
  });

  it('asked, re-runs parity with the flag before the script, keeping node flags and arguments', () => {
    const asked = { PINK_BULK_SEMI_SPACE_MB: '64' };
    expect(bulkRerunArgs([...NODE, 'parity', '--data', 'x.jsonl'], ['--enable-source-maps'], asked)).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=64',
      '/opt/pink/dist/cli/main.js',
      'parity',
      '--data',
      'x.jsonl',
    ]);
  });

  it('leaves every other command (replay too: its rows die young), and no command, in this process', () => {
    for (const command of ['replay', 'run', 'demo', 'soak', 'ctl', 'simtest', 'report', 'tui', '--help'])
      expect(bulkRerunArgs([...NODE, command], [], { PINK_BULK_SEMI_SPACE_MB: '64' })).toBeNull();
    expect(bulkRerunArgs(NODE, [], { PINK_BULK_SEMI_SPACE_MB: '64' })).toBeNull();
  });

  it('never re-runs when the flag is already given (node flags, NODE_OPTIONS, an earlier re-run)', () => {
    const asked = { PINK_BULK_SEMI_SPACE_MB: '64' };
    expect(bulkRerunArgs([...NODE, 'parity'], ['--max-semi-space-size=16'], asked)).toBeNull();
    expect(bulkRerunArgs([...NODE, 'parity'], ['--max-semi-space-size', '16'], asked)).toBeNull();
    expect(
      bulkRerunArgs([...NODE, 'parity'], [], { ...asked, NODE_OPTIONS: '--max-semi-space-size=8' }),
    ).toBeNull();
  });

  it('PINK_BULK_SEMI_SPACE_MB sets the size, 0 turns it off, anything else is refused by name', () => {
    expect(bulkRerunArgs([...NODE, 'parity'], [], { PINK_BULK_SEMI_SPACE_MB: '128' })?.[0]).toBe(
      '--max-semi-space-size=128',
    );
    expect(bulkRerunArgs([...NODE, 'parity'], [], { PINK_BULK_SEMI_SPACE_MB: '0' })).toBeNull();
    for (const bad of ['-1', '1.5', 'lots', '4096'])
      expect(() => bulkRerunArgs([...NODE, 'parity'], [], { PINK_BULK_SEMI_SPACE_MB: bad })).toThrow(
        new BulkHeapSettingError(
          `PINK_BULK_SEMI_SPACE_MB must be an integer from 0 (off) to 1024 (MB per semi-space), got "${bad}"`,
        ),
      );
  });
});

describe('bulkRerun: the embedded engine allocator setting (glibc)', () => {
  const TUNABLE = 'glibc.malloc.mmap_threshold=131072';

  it('re-runs replay (and the bench child that measures it) with a fixed mmap threshold, keeping node flags, arguments and environment', () => {
    for (const command of ['replay', '__bench-replay-ledger'])
      expect(
        onGlibc([...NODE, command, '--data', 'x.jsonl'], { PINK_VAR_DIR: '/v' }, ['--enable-source-maps']),
      ).toEqual({
        args: ['--enable-source-maps', '/opt/pink/dist/cli/main.js', command, '--data', 'x.jsonl'],
        env: { PINK_VAR_DIR: '/v', GLIBC_TUNABLES: TUNABLE },
      });
  });

  it("adds to the operator's other tunables and never overrides a threshold already given (by the operator or an earlier re-run)", () => {
    expect(
      onGlibc([...NODE, 'replay'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })?.env.GLIBC_TUNABLES,
    ).toBe(`glibc.malloc.arena_max=2:${TUNABLE}`);
    for (const given of ['glibc.malloc.mmap_threshold=65536', `glibc.malloc.arena_max=2:${TUNABLE}`])
      expect(onGlibc([...NODE, 'replay'], { GLIBC_TUNABLES: given })).toBeNull();
  });

  it('runs every other command here, and replay too where the C library is not glibc', () => {
    for (const command of ['parity', 'run', 'demo', 'soak', 'ctl', 'simtest', 'report', 'tui', '--help'])
      expect(onGlibc([...NODE, command], {})).toBeNull();
    expect(onGlibc(NODE, {})).toBeNull();
    expect(bulkRerun([...NODE, 'replay'], [], {}, () => false)).toBeNull();
  });

  it("PINK_ENGINE_MMAP_THRESHOLD sets the bytes, 0 keeps glibc's default (no re-run), anything else is refused by name", () => {
    expect(onGlibc([...NODE, 'replay'], { PINK_ENGINE_MMAP_THRESHOLD: '262144' })?.env.GLIBC_TUNABLES).toBe(
      'glibc.malloc.mmap_threshold=262144',
    );
    expect(onGlibc([...NODE, 'replay'], { PINK_ENGINE_MMAP_THRESHOLD: '0' })).toBeNull();
    for (const bad of ['-1', '100', '1.5', 'big', '40000000'])
      expect(() => onGlibc([...NODE, 'replay'], { PINK_ENGINE_MMAP_THRESHOLD: bad })).toThrow(
        new BulkHeapSettingError(
          `PINK_ENGINE_MMAP_THRESHOLD must be 0 (glibc's default, no re-run) or an integer from 4096 to 33554432 (bytes), got "${bad}"`,
        ),
      );
  });
});

describe('leanHeapFlags', () => {
  const LEAN = ['--heap-growing-percent=50', '--semi-space-growth-factor=1'];

  it('gives replay, parity (and the bench child that measures replay) a heap that grows by half its live size and a young generation that stays small', () => {
    for (const command of ['replay', 'parity', '__bench-replay-ledger'])
      expect(leanHeapFlags([...NODE, command, '--data', 'x.jsonl'], [], {})).toEqual(LEAN);
  });

  it("keeps the soak's young generation at the runtime's size, its old space at V8's default", () => {
    expect(leanHeapFlags([...NODE, 'soak', '--hours', '24'], ['--expose-gc'], {})).toEqual([LEAN[1]]);
    expect(leanHeapFlags([...NODE, 'soak'], [], { PINK_SEMI_SPACE_GROWTH_FACTOR: '0' })).toEqual([]);
    expect(leanHeapFlags([...NODE, 'soak'], ['--max-semi-space-size=16'], {})).toEqual([]);
  });

  it("leaves every other command, and no command, with V8's defaults", () => {
    for (const command of ['run', 'demo', 'ctl', 'simtest', 'report', 'tui', '--help'])
      expect(leanHeapFlags([...NODE, command], [], {})).toEqual([]);
    expect(leanHeapFlags(NODE, [], {})).toEqual([]);
  });

  it('never overrides a flag given as a node option or in NODE_OPTIONS, and leaves the other one', () => {
    expect(leanHeapFlags([...NODE, 'replay'], ['--heap-growing-percent=200'], {})).toEqual([LEAN[1]]);
    expect(leanHeapFlags([...NODE, 'replay'], [], { NODE_OPTIONS: '--heap-growing-percent=10' })).toEqual([
      LEAN[1],
    ]);
    expect(leanHeapFlags([...NODE, 'replay'], ['--semi-space-growth-factor=4'], {})).toEqual([LEAN[0]]);
  });

  it('leaves the young generation to V8 when the command line sizes the semi-spaces (the parity re-run)', () => {
    for (const given of ['--max-semi-space-size=64', '--min-semi-space-size=8', '--max-semi-space-size'])
      expect(leanHeapFlags([...NODE, 'parity'], [given], {})).toEqual([LEAN[0]]);
    const rerun = bulkRerunArgs([...NODE, 'parity'], [], { PINK_BULK_SEMI_SPACE_MB: '64' })!;
    expect(leanHeapFlags([...NODE, 'parity'], rerun.slice(0, 1), {})).toEqual([LEAN[0]]);
  });

  it("PINK_HEAP_GROWING_PERCENT sets it, 0 keeps V8's default, anything else is refused by name", () => {
    expect(leanHeapFlags([...NODE, 'replay'], [], { PINK_HEAP_GROWING_PERCENT: '25' })).toEqual([
      '--heap-growing-percent=25',
      LEAN[1],
    ]);
    expect(leanHeapFlags([...NODE, 'replay'], [], { PINK_HEAP_GROWING_PERCENT: '0' })).toEqual([LEAN[1]]);
    for (const bad of ['-1', '1.5', 'lots', '5000'])
      expect(() => leanHeapFlags([...NODE, 'replay'], [], { PINK_HEAP_GROWING_PERCENT: bad })).toThrow(
        new BulkHeapSettingError(
          `PINK_HEAP_GROWING_PERCENT must be an integer from 0 (V8's default) to 1000 (percent of the live heap the old space may grow by), got "${bad}"`,
        ),
      );
  });

  it("PINK_SEMI_SPACE_GROWTH_FACTOR sets the young generation's growth, 0 keeps V8's default, anything else is refused by name", () => {
    expect(leanHeapFlags([...NODE, 'replay'], [], { PINK_SEMI_SPACE_GROWTH_FACTOR: '2' })).toEqual([
      LEAN[0],
      '--semi-space-growth-factor=2',
    ]);
    expect(leanHeapFlags([...NODE, 'replay'], [], { PINK_SEMI_SPACE_GROWTH_FACTOR: '0' })).toEqual([LEAN[0]]);
    for (const bad of ['-1', '1.5', 'two', '17'])
      expect(() => leanHeapFlags([...NODE, 'replay'], [], { PINK_SEMI_SPACE_GROWTH_FACTOR: bad })).toThrow(
        new BulkHeapSettingError(
          `PINK_SEMI_SPACE_GROWTH_FACTOR must be an integer from 0 (V8's default) to 16 (times the young generation grows by when it fills), got "${bad}"`,
        ),
      );
  });

  it('the real CLI refuses a bad setting before the replay opens anything (exit 2, named)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-lean-heap-'));
    try {
      for (const [variable, bad] of [
        ['PINK_HEAP_GROWING_PERCENT', 'lots'],
        ['PINK_SEMI_SPACE_GROWTH_FACTOR', 'two'],
        ['PINK_ENGINE_MMAP_THRESHOLD', '100'],
      ] as const) {
        let failure: { status: number | null; stderr: string } | null = null;
        try {
          execFileSync(process.execPath, [CLI, 'replay', '--data', join(dir, 'none.jsonl')], {
            cwd: REPO,
            env: { ...cliEnv(join(dir, 'var')), [variable]: bad },
            stdio: 'pipe',
          });
        } catch (err) {
          failure = err as { status: number | null; stderr: string };
        }
        expect(failure?.status, variable).toBe(2);
        expect(String(failure?.stderr)).toMatch(new RegExp(`${variable} must be (an integer|0 )`));
        expect(existsSync(join(dir, 'var')), variable).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pink parity through the re-run (Linux /proc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pink-bulk-heap-'));
  let parent: ChildProcess | null = null;
  afterAll(() => {
    parent?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const childrenOf = (pid: number): number[] => {
    const file = `/proc/${pid}/task/${pid}/children`;
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  };

  it('asked, runs the command in a child with the flag; SIGTERM to the parent ends both, as 128 + 15', async () => {
    // A FIFO nobody writes: parity waits on it for as long as the test needs.
    const fifo = join(dir, 'scans.jsonl');
    execFileSync('mkfifo', [fifo]);
    const out = join(dir, 'parity-out');
    const p = spawn(process.execPath, [CLI, 'parity', '--data', fifo, '--out', out], {
      cwd: REPO,
      env: { ...cliEnv(join(dir, 'var')), PINK_BULK_SEMI_SPACE_MB: '64' },
      stdio: 'ignore',
    });
    parent = p;
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    // The child, once it has become node with the flag (not the fork before exec).
    const cmdlineOf = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        return [];
      }
    };
    let child: number | undefined;
    for (let i = 0; i < 400 && child === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      child = childrenOf(p.pid!).find((pid) => cmdlineOf(pid).includes('--max-semi-space-size=64'));
    }
    expect(child).toBeDefined();
    const cmdline = cmdlineOf(child!);
    expect(cmdline).toContain('--max-semi-space-size=64');
    expect(cmdline.slice(-5)).toEqual(['parity', '--data', fifo, '--out', out]);
    p.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(existsSync(`/proc/${child}`)).toBe(false);
  });

  it.runIf(
    process.report.getReport() &&
      (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
        ?.glibcVersionRuntime,
  )(
    "replays in a child whose glibc has the engine's mmap threshold; SIGTERM to the parent ends both",
    async () => {
      const fifo = join(dir, 'replay-scans.jsonl');
      execFileSync('mkfifo', [fifo]);
      const env = { ...cliEnv(join(dir, 'var-replay')), GLIBC_TUNABLES: undefined };
      const p = spawn(process.execPath, [CLI, 'replay', '--data', fifo], { cwd: REPO, env, stdio: 'ignore' });
      parent = p;
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      const environOf = (pid: number) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        } catch {
          return [];
        }
      };
      // (glibc's loader cuts the variable at its first ':' in place: one tunable shows whole.)
      const wanted = 'GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072';
      let child: number | undefined;
      for (let i = 0; i < 400 && child === undefined; i++) {
        await new Promise((r) => setTimeout(r, 25));
        child = childrenOf(p.pid!).find((pid) => environOf(pid).includes(wanted));
      }
      expect(child).toBeDefined();
      expect(environOf(p.pid!).filter((v) => v.startsWith('GLIBC_TUNABLES='))).toEqual([]);
      p.kill('SIGTERM');
      expect(await exited).not.toBe(0);
      expect(existsSync(`/proc/${child}`)).toBe(false);
    },
  );
});
