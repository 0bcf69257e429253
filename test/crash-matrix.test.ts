/**
 * Exchange-led recovery at every crash point (issue: exchange-led recovery): each crash
 * point of a trade's lifecycle x each thing the venue does while PINK is down. After the
 * restart, and after every poll that follows, the books must agree with the venue: each
 * venue position owned by exactly one trade, PINK's quantity = the venue's, PINK's capital
 * change = the venue wallet's change, every venue fill booked exactly once; and no trade may
 * wait in a state the venue contradicts (liveness). No final flatten hides anything.
 */
import { describe, expect, it } from 'vitest';
import { CrashWorld, type PinkProcess } from './support/crash-world.js';

const ASSET = 'SOLUSDT';
const ASSETS = [ASSET, 'ETHUSDT'];

type CrashPoint = (w: CrashWorld, p: PinkProcess) => Promise<void>;

/** Position open and checkpointed (the state every exit crash point starts from). */
async function opened(w: CrashWorld, p: PinkProcess): Promise<void> {
  await p.enter('T1', ASSET, 'SHORT', 10);
  await p.checkpoint();
  w.advance(2_500);
  await p.poll();
  await p.checkpoint();
  expect(p.kernel.view()?.remainingQty).toBeCloseTo(10, 9);
}

const CRASH_POINTS: Record<string, CrashPoint> = {
  // The entry's intent is durable, the request never left.
  'entry: after the write-ahead, before the submit': async (_w, p) => {
    p.dieAtWriteAhead = true;
    void p.enter('T1', ASSET, 'SHORT', 10);
    await new Promise((r) => setImmediate(r));
  },
  // The request left; the process died before its checkpoint (the journal has no trade).
  'entry: after the submit, before the checkpoint': async (_w, p) => {
    await p.enter('T1', ASSET, 'SHORT', 10);
  },
  'entry: checkpointed with the order in flight': async (_w, p) => {
    await p.enter('T1', ASSET, 'SHORT', 10);
    await p.checkpoint();
  },
  'entry: in the middle of its fills': async (w, p) => {
    await p.enter('T1', ASSET, 'SHORT', 10);
    await p.checkpoint();
    w.advance(1_200); // the first of two fills
    await p.poll();
  },
  'position open, checkpointed': opened,
  'exit: after the write-ahead, before the submit': async (w, p) => {
    await opened(w, p);
    p.dieAtWriteAhead = true;
    void p.exit(1, true, 'TP1');
    await new Promise((r) => setImmediate(r));
  },
  'exit: after the submit, before the checkpoint': async (w, p) => {
    await opened(w, p);
    await p.exit(1, true, 'TP1');
  },
  'exit: in the middle of its fills': async (w, p) => {
    await opened(w, p);
    await p.exit(1, true, 'TP1');
    await p.checkpoint();
    w.advance(1_200);
    await p.poll();
  },
  'exit: first leg filled, second leg sent': async (w, p) => {
    await opened(w, p);
    await p.exit(0.5, false, 'TP1');
    w.advance(2_500);
    await p.poll();
    await p.checkpoint();
    await p.exit(1, true, 'TP2');
  },
  'exit: request lost on the way, killed before its lookup': async (w, p) => {
    await opened(w, p);
    w.venue.loseNextSubmits(1);
    await p.exit(1, true, 'STOP_LOSS');
    await p.checkpoint();
  },
};

type DownEvent = (w: CrashWorld) => void;

const WHILE_DOWN: Record<string, DownEvent> = {
  nothing: () => {},
  'fills continue': () => {},
  'external close': (w) => w.venue.injectExternalClose(ASSET, w.now + 3_000, false),
  'external add': (w) => w.venue.injectExternalAdd(ASSET, 4, w.now + 3_000),
  liquidation: (w) => w.venue.injectExternalClose(ASSET, w.now + 3_000, true),
  funding: (w) => w.venue.injectFunding(ASSET, 0.0001, w.now + 3_000),
};

async function scenario(point: CrashPoint, down: DownEvent): Promise<{ w: CrashWorld; p: PinkProcess }> {
  const w = new CrashWorld();
  w.setPrice(ASSET, 100);
  w.setPrice('ETHUSDT', 3_000);
  const first = await w.boot();
  await point(w, first);
  w.crash(first);
  down(w);
  w.setPrice(ASSET, 98);
  w.advance(60_000); // down for a minute while the venue trades
  const p = await w.boot();
  return { w, p };
}

/** Polls for a while after the restart, checking the books after every poll; returns the first problem. */
async function runOn(w: CrashWorld, p: PinkProcess, polls: number): Promise<string[]> {
  for (let i = 0; i <= polls; i++) {
    const problems = await w.violations(p, ASSETS);
    // An order in flight may lag the venue by its latency; anything else must agree at once.
    if (problems.length > 0 && !p.kernel.view()?.pendingOrder)
      return [`after poll ${i}: ${problems.join('; ')}`];
    w.advance(1_000);
    await p.poll();
  }
  return [];
}

describe('crash-point x venue-event matrix (in-process sim venue)', () => {
  for (const [pointName, point] of Object.entries(CRASH_POINTS)) {
    for (const [eventName, down] of Object.entries(WHILE_DOWN)) {
      it(`${pointName} | while down: ${eventName}`, async () => {
        const { w, p } = await scenario(point, down);
        expect(await runOn(w, p, 15)).toEqual([]);
        // Liveness: nothing waits on an order for long, and the slot agrees with the venue.
        const view = p.kernel.view();
        expect(view?.pendingOrder ?? null).toBeNull();
        const venueQty = w.venue.positionOf(ASSET);
        expect(view ? Math.abs(venueQty) : 0).toBeCloseTo(view?.remainingQty ?? 0, 9);
        if (venueQty === 0) expect(view).toBeNull();
        // And the trade can still be finished normally, booked once, matching the wallet.
        if (view) {
          await p.exit(1, true, 'FLATTEN');
          expect(await runOn(w, p, 10)).toEqual([]);
          expect(w.venue.positionOf(ASSET)).toBe(0);
          expect(p.kernel.view()).toBeNull();
        }
        const closes = p.events.filter((e) => e.type === 'trade_closed');
        const allCloses = w.processes.flatMap((q) =>
          (q.dead ? q.events.slice(0, q.durable) : q.events).filter((e) => e.type === 'trade_closed'),
        );
        const ids = allCloses.map((e) => (e.type === 'trade_closed' ? e.trade.tradeId : ''));
        expect(new Set(ids).size).toBe(ids.length);
        expect(closes.length).toBeLessThanOrEqual(2);
      });
    }
  }
});
