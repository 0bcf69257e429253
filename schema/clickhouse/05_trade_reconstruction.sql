-- One row per trade with its full story as JSON text (decisions, intents, lifecycle,
-- orders, fills, funding, legs, corrections, latencies). Keyed by (trade_id, run_id): within
-- one process run a later, more complete story (higher story_version) replaces an earlier one
-- (read with FINAL); a trade that spans a restart keeps one story per run.
-- Merged column by column (vertical merge, whatever the part's row count): a merge holds
-- one column's read buffers at a time, not every column's of every part. Measured after 3M
-- replayed scans: trade_reconstruction's merges took 262-280 MB of engine memory, 118 MB
-- vertically; trade_exit_legs' ~100 MB (README, Replay memory).
-- Small compression and merge blocks, as every ledger table (why: 04_trade_exit_legs.sql).
CREATE TABLE IF NOT EXISTS {db}.trade_reconstruction
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    story_version UInt64,
    trade_id String,
    status LowCardinality(String),
    asset LowCardinality(String),
    side LowCardinality(String),
    entry_ts Nullable(DateTime64(3, 'UTC')),
    exit_ts Nullable(DateTime64(3, 'UTC')),
    exit_reason LowCardinality(String),
    pnl Float64,
    fees Float64,
    funding Float64,
    decisions String,
    intents String,
    lifecycle String,
    orders String,
    fills String,
    funding_events String,
    legs String,
    corrections String,
    latencies String
)
ENGINE = ReplacingMergeTree(story_version)
ORDER BY (trade_id, run_id)
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
