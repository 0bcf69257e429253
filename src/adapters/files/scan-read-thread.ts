/**
 * A scan file's lines read and parsed on a worker thread (scan-read-worker.ts), handed
 * over packed (scan-pack.ts): the replay's decision thread then spends nothing on
 * JSON.parse, which is most of what a line costs it. Lines come in file order with the
 * same values and parse errors as readScanLineBatches gives.
 */
import { Worker } from 'node:worker_threads';
import { type PackedLines, type ParsedLine, ScanUnpacker } from './scan-pack.js';

export interface ReaderStart {
  readonly path: string;
  readonly credits: number;
}

export type ReaderMessage =
  | { readonly kind: 'lines'; readonly packed: PackedLines }
  | { readonly kind: 'end'; readonly bytes: number }
  | { readonly kind: 'error'; readonly name: string; readonly message: string };

/** Batches (of up to LINES_PER_BATCH lines) the worker may run ahead of the replay. */
export const READ_AHEAD_BATCHES = 8;

/**
 * The worker's script: the compiled module, or, run from the TypeScript sources (tests),
 * a bootstrap that registers tsx's loader in the worker first (a worker does not inherit
 * the loader the main thread was started with).
 */
function workerScript(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts'))
    return { script: new URL('./scan-read-worker.js', import.meta.url), eval: false };
  const source = JSON.stringify(new URL('./scan-read-worker.ts', import.meta.url).href);
  return {
    script: `import('tsx/esm/api').then((t) => { t.register(); return import(${source}); })`,
    eval: true,
  };
}

export function readScanLinesInWorker(
  path: string,
  /** The worker's old-generation limit, MB (V8's default when not given). */
  maxOldGenerationSizeMb?: number,
): {
  batches: AsyncGenerator<ParsedLine[]>;
  bytesRead: () => number;
  /** Batches read ahead and not yet taken (at most READ_AHEAD_BATCHES). */
  waiting: () => number;
} {
  let bytes = 0;
  const inbox: ReaderMessage[] = [];
  async function* batches(): AsyncGenerator<ParsedLine[]> {
    const { script, eval: isEval } = workerScript();
    const start: ReaderStart = { path, credits: READ_AHEAD_BATCHES };
    // Its objects live for a line: a 1 MB young generation (V8 would grow it to 32 MB:
    // +30 MB of peak RSS in a 300k-scan replay, no faster).
    const worker = new Worker(script, {
      eval: isEval,
      workerData: start,
      resourceLimits: {
        maxYoungGenerationSizeMb: 1,
        ...(maxOldGenerationSizeMb ? { maxOldGenerationSizeMb } : {}),
      },
    });
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const arrive = () => {
      wake?.();
      wake = null;
    };
    worker.on('message', (m: ReaderMessage) => {
      inbox.push(m);
      arrive();
    });
    worker.on('error', (err) => {
      failure = new Error(`${path}: the scan reader thread failed: ${err.message}`);
      arrive();
    });
    worker.on('exit', (code) => {
      failure ??= new Error(
        `the scan reader thread for ${path} stopped (exit code ${code}) before the end of the file`,
      );
      arrive();
    });
    const unpacker = new ScanUnpacker();
    try {
      for (;;) {
        const m = inbox.shift();
        if (m === undefined) {
          if (failure) throw failure;
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        if (m.kind === 'end') {
          bytes = m.bytes;
          return;
        }
        if (m.kind === 'error') throw Object.assign(new Error(m.message), { name: m.name });
        worker.postMessage(1);
        bytes = m.packed.bytes;
        yield unpacker.unpack(m.packed);
      }
    } finally {
      worker.removeAllListeners();
      await worker.terminate();
    }
  }
  return {
    batches: batches(),
    bytesRead: () => bytes,
    waiting: () => inbox.filter((m) => m.kind === 'lines').length,
  };
}
