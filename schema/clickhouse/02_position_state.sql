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
SETTINGS non_replicated_deduplication_window = 10000;
