/**
 * The account projection (the A of DITA): built from confirmed venue facts only
 * (fills, funding) plus explicit operator capital adjustments. Never from intents.
 * Invariant: capital = initial + adjustments + realized - fees - funding.
 */

export interface AccountSnapshot {
  readonly ts: number;
  readonly initialCapital: number;
  readonly adjustments: number;
  readonly capital: number;
  readonly equity: number;
  readonly realizedPnl: number;
  readonly unrealizedPnl: number;
  readonly fees: number;
  readonly funding: number;
  readonly openNotional: number;
  readonly openPositions: number;
  /** open notional / equity (0 when flat). */
  readonly leverage: number;
  readonly positionQty: number;
  readonly avgEntryPrice: number;
  readonly markPrice: number;
}

export interface AccountState {
  readonly initial: number;
  readonly realized: number;
  readonly fees: number;
  readonly funding: number;
  readonly adjustments: number;
  /** Capital as an operator last set it, while no money has moved since (absent otherwise). */
  readonly pinnedCapital?: number;
  readonly qty: number;
  readonly avgEntry: number;
  readonly mark: number;
  readonly ts: number;
}

export interface FillApplied {
  /** Realized PnL of this fill, gross of fees (0 for position-increasing fills). */
  readonly realizedPnl: number;
  /** Quantity by which the fill reduced the position. */
  readonly closedQty: number;
}

export class AccountProjection {
  private realized = 0;
  private feesPaid = 0;
  private fundingPaid = 0;
  private adjust = 0;
  /**
   * The amount an operator set, exactly, until money next moves: the sum above can differ
   * from it in the last binary digit, and SET_CAPITAL must set exactly what was given.
   */
  private pinned: number | null = null;
  /** Signed: negative = short. */
  private qty = 0;
  private avgEntry = 0;
  private mark = 0;
  private lastTs = 0;

  constructor(private readonly initial: number) {
    if (!Number.isFinite(initial) || initial <= 0)
      throw new Error(`initial capital must be > 0, got ${initial}`);
  }

  get capital(): number {
    if (this.pinned !== null) return this.pinned;
    return this.initial + this.adjust + this.realized - this.feesPaid - this.fundingPaid;
  }

  get positionQty(): number {
    return this.qty;
  }

  /** Applies one confirmed fill; `signedQty` is negative for sells. */
  applyFill(signedQty: number, price: number, fee: number, ts: number): FillApplied {
    this.pinned = null;
    this.feesPaid += fee;
    this.lastTs = Math.max(this.lastTs, ts);
    if (this.mark === 0) this.mark = price;
    let realizedPnl = 0;
    let closedQty = 0;
    const before = this.qty;
    if (before !== 0 && Math.sign(signedQty) !== Math.sign(before)) {
      closedQty = Math.min(Math.abs(signedQty), Math.abs(before));
      realizedPnl = (price - this.avgEntry) * closedQty * Math.sign(before);
      this.realized += realizedPnl;
      const opened = Math.abs(signedQty) - closedQty;
      this.qty = before + signedQty;
      if (Math.abs(this.qty) < 1e-12) this.qty = 0;
      if (opened > 0) this.avgEntry = price;
      else if (this.qty === 0) this.avgEntry = 0;
    } else {
      const total = Math.abs(before) + Math.abs(signedQty);
      this.avgEntry = (this.avgEntry * Math.abs(before) + price * Math.abs(signedQty)) / total;
      this.qty = before + signedQty;
    }
    return { realizedPnl, closedQty };
  }

  /** A price correction on an already-closed quantity: PnL and fee move, the position does not. */
  correctRealized(pnl: number, fee: number, ts: number): void {
    this.pinned = null;
    this.realized += pnl;
    this.feesPaid += fee;
    this.lastTs = Math.max(this.lastTs, ts);
  }

  applyFunding(amount: number, ts: number): void {
    this.pinned = null;
    this.fundingPaid += amount;
    this.lastTs = Math.max(this.lastTs, ts);
  }

  /** Operator SET_CAPITAL / CAPITAL_UPDATE: an explicit, recorded adjustment. */
  setCapital(target: number, ts: number): number {
    const delta = target - this.capital;
    this.adjust += delta;
    this.pinned = target;
    this.lastTs = Math.max(this.lastTs, ts);
    return delta;
  }

  markToMarket(price: number, ts: number): void {
    if (price > 0) this.mark = price;
    this.lastTs = Math.max(this.lastTs, ts);
  }

  /** The projection's own state, for the local journal. */
  exportState(): AccountState {
    return {
      initial: this.initial,
      realized: this.realized,
      fees: this.feesPaid,
      funding: this.fundingPaid,
      adjustments: this.adjust,
      ...(this.pinned !== null ? { pinnedCapital: this.pinned } : {}),
      qty: this.qty,
      avgEntry: this.avgEntry,
      mark: this.mark,
      ts: this.lastTs,
    };
  }

  static fromState(s: AccountState): AccountProjection {
    const a = new AccountProjection(s.initial);
    a.realized = s.realized;
    a.feesPaid = s.fees;
    a.fundingPaid = s.funding;
    a.adjust = s.adjustments;
    a.pinned = s.pinnedCapital ?? null;
    a.qty = s.qty;
    a.avgEntry = s.avgEntry;
    a.mark = s.mark;
    a.lastTs = s.ts;
    return a;
  }

  /**
   * Start-up recovery: the venue's position is the truth. Any difference to the
   * journal's position is booked at `price` (returns the quantity corrected).
   */
  alignPosition(venueQty: number, price: number, ts: number): { qty: number; realizedPnl: number } {
    const diff = venueQty - this.qty;
    if (Math.abs(diff) < 1e-12) return { qty: 0, realizedPnl: 0 };
    return { qty: diff, realizedPnl: this.applyFill(diff, price, 0, ts).realizedPnl };
  }

  snapshot(): AccountSnapshot {
    const unrealized = this.qty === 0 ? 0 : (this.mark - this.avgEntry) * this.qty;
    const capital = this.capital;
    const equity = capital + unrealized;
    const openNotional = Math.abs(this.qty) * this.mark;
    return {
      ts: this.lastTs,
      initialCapital: this.initial,
      adjustments: this.adjust,
      capital,
      equity,
      realizedPnl: this.realized,
      unrealizedPnl: unrealized,
      fees: this.feesPaid,
      funding: this.fundingPaid,
      openNotional,
      openPositions: this.qty === 0 ? 0 : 1,
      leverage: equity > 0 ? openNotional / equity : 0,
      positionQty: this.qty,
      avgEntryPrice: this.avgEntry,
      markPrice: this.mark,
    };
  }
}
