-- One row per order (DESIGN.md §8). Latency legs in microseconds from the process's
-- monotonic clock (NULL when the leg never happened, e.g. no fill on a reject); the
-- "decision" point is the REQUESTED milestone, taken right after the decision. Exchange
-- timestamps are the venue's fill times. Slippage in bps, positive = cost: against the
-- decision reference price and against the arrival price (see arrival_price_source).
CREATE TABLE IF NOT EXISTS {db}.execution_quality
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    trade_id String,
    client_order_id String,
    exchange_order_id String,
    asset LowCardinality(String),
    purpose LowCardinality(String),
    order_side LowCardinality(String),
    final_status LowCardinality(String),
    qty Float64,
    filled_qty Float64,
    fills UInt32,
    avg_fill_price Float64,
    reference_price Float64,
    arrival_price Float64,
    arrival_price_source LowCardinality(String),
    slippage_vs_reference_bps Nullable(Float64),
    slippage_vs_arrival_bps Nullable(Float64),
    decision_to_submit_us Nullable(Int64),
    submit_to_ack_us Nullable(Int64),
    ack_to_first_fill_us Nullable(Int64),
    first_fill_to_done_us Nullable(Int64),
    requested_ts DateTime64(3, 'UTC'),
    submit_ts Nullable(DateTime64(3, 'UTC')),
    ack_ts Nullable(DateTime64(3, 'UTC')),
    done_ts Nullable(DateTime64(3, 'UTC')),
    exchange_first_fill_ts Nullable(DateTime64(3, 'UTC')),
    exchange_last_fill_ts Nullable(DateTime64(3, 'UTC')),
    fees Float64,
    funding Float64,
    -- Added by issue #18 (schema apply adds them to an older ledger): the local submit ->
    -- first fill time, and the reason the order ended unfilled or short (the venue's reject
    -- reason, the cancel or expiry note; '' when it filled).
    submit_to_first_fill_us Nullable(Int64),
    final_reason String DEFAULT '',
    -- Post-fill markouts (issue #18): the market as of the last fill + 5 s, 60 s, 300 s of
    -- market time against the average fill price, bps, positive = moved in the order's
    -- favour. Filled in as new versions of the order's row (row_version 1, 2, ...), never
    -- by editing one: readers take the highest row_version per (run_id, client_order_id).
    row_version UInt32 DEFAULT 0,
    markout_5s_bps Nullable(Float64),
    markout_60s_bps Nullable(Float64),
    markout_300s_bps Nullable(Float64),
    -- The venue's own time it accepted the order (issue #18, item 2), on its clock, ms: its
    -- ack's time when it gives one (sim), else its order record's creation time (BingX
    -- `time`; createOrder's answer has none). Beside ack_ts (PINK's clock), never mixed.
    exchange_ack_ts Nullable(DateTime64(3, 'UTC'))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (strategy, ts, event_seq)
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
