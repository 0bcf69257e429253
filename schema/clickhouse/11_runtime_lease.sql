-- The runtime lease (one runtime per namespace) when runtimes share a ClickHouse server
-- but no Hazelcast cluster: each write (take, renew, release) is a row, the newest row
-- is the lease. Not part of the audit trail; rows are dropped a day after they were written.
CREATE TABLE IF NOT EXISTS {db}.runtime_lease
(
    key LowCardinality(String),
    value String,
    written_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY (key, written_at)
TTL toDateTime(written_at) + INTERVAL 1 DAY;
