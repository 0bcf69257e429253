-- Append-only trade lifecycle transitions (DESIGN.md §4).
CREATE TABLE IF NOT EXISTS {db}.position_state
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    trade_id String,
    state LowCardinality(String),
    asset LowCardinality(String),
    side LowCardinality(String),
    size Float64,
    client_order_id String,
    exchange_order_id String,
    detail String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (trade_id, ts, event_seq)
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
