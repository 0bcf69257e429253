-- Status ticks (kind TICK) and operator capital changes (kind SET_CAPITAL /
-- CAPITAL_UPDATE, with capital_delta): the capital path capital replay starts from.
-- Also the strategy's health changes (kind STRATEGY_FAILED / STRATEGY_RECOVERED, issue #20:
-- a strategy process failed and PINK paused entries, or it decides again), reason in detail.
CREATE TABLE IF NOT EXISTS {db}.status_snapshots
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    kind LowCardinality(String),
    capital Float64,
    equity Float64,
    capital_delta Float64,
    command_id String,
    posture LowCardinality(String),
    trades_executed UInt64,
    open_trade_id String,
    heartbeat_age_ms UInt64,
    last_scan Int64,
    -- Added by issue #20 (schema apply adds it): why, for the STRATEGY_* kinds.
    detail String DEFAULT ''
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (strategy, ts, event_seq)
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
