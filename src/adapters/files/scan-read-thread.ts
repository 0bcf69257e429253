/**
 * A scan file's lines read and parsed on a worker thread (scan-read-worker.ts), handed
 * over packed (scan-pack.ts): the replay's decision thread then spends nothing on
 * JSON.parse, which is most of what a line costs it. Lines come in file order with the
 * same values and parse errors as readScanLineBatches gives.
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { type ParsedLine, readScanLines } from './scan-lines.js';
import { type PackedLines, ScanUnpacker } from './scan-pack.js';

export interface ReaderStart {
  readonly path: string;
  readonly credits: number;
  readonly hashLines: boolean;
}

export type ReaderMessage =
  | { readonly kind: 'lines'; readonly packed: PackedLines }
  | { readonly kind: 'end'; readonly bytes: number; readonly linesHash: string | null }
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

export interface WorkerReadOptions {
  /**
   * Hash the non-blank lines as `pink parity` identifies a dataset: SHA-256 over
   * `<lineNo>:<text>\n` for each, in the worker, where the text is.
   */
  readonly hashLines?: boolean;
  /** The worker's old-generation limit, MB (V8's default when not given). */
  readonly maxOldGenerationSizeMb?: number;
  /**
   * V8 flags this process set for itself (bulk-heap.ts), set again once the worker runs:
   * starting a worker puts the process's V8 flags back to their defaults (Node 20,
   * measured: the young generation's growth factor of 1 was lost and the decision thread's
   * semi-spaces grew to 16 MB, `pink parity` 1M scans 93 -> 142 MB).
   */
  readonly v8Flags?: readonly string[];
}

export function readScanLinesInWorker(
  path: string,
  { hashLines = false, maxOldGenerationSizeMb, v8Flags = [] }: WorkerReadOptions = {},
): {
  batches: AsyncGenerator<ParsedLine[]>;
  bytesRead: () => number;
  /** Batches read ahead and not yet taken (at most READ_AHEAD_BATCHES). */
  waiting: () => number;
  /** With `hashLines`, the lines' hash (hex) once the last batch is taken; null before. */
  linesHash: () => string | null;
} {
  let bytes = 0;
  let linesHash: string | null = null;
  const inbox: ReaderMessage[] = [];
  async function* batches(): AsyncGenerator<ParsedLine[]> {
    const { script, eval: isEval } = workerScript();
    const start: ReaderStart = { path, credits: READ_AHEAD_BATCHES, hashLines };
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
    worker.once('online', () => {
      for (const flag of v8Flags) setFlagsFromString(flag);
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
          linesHash = m.linesHash;
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
    linesHash: () => linesHash,
  };
}

/**
 * A scan file's non-blank lines one at a time, read on a worker thread or on this one, and
 * once the last is taken the dataset's hash: SHA-256 over `<lineNo>:<text>\n` of each
 * (`pink parity`'s datasetHash), the same either way.
 */
export function readHashedScanLines(
  path: string,
  readLines: 'worker' | 'inline',
  v8Flags: readonly string[] = [],
): { lines: AsyncGenerator<ParsedLine>; datasetHash: () => string } {
  let digest: string | null = null;
  const datasetHash = () => {
    if (digest === null) throw new Error(`${path}: the dataset hash is known only once every line is read`);
    return digest;
  };
  if (readLines === 'worker') {
    const read = readScanLinesInWorker(path, { hashLines: true, v8Flags });
    async function* lines(): AsyncGenerator<ParsedLine> {
      for await (const batch of read.batches) yield* batch;
      digest = read.linesHash();
    }
    return { lines: lines(), datasetHash };
  }
  async function* lines(): AsyncGenerator<ParsedLine> {
    const hash = createHash('sha256');
    for await (const line of readScanLines(path).lines) {
      hash.update(`${line.lineNo}:${line.text}\n`);
      yield line;
    }
    digest = hash.digest('hex');
  }
  return { lines: lines(), datasetHash };
}
