-- The feed pipeline's durable state: fingerprints of events already accepted (for
-- de-duplication across runs and restarts), rows that could not be used, per-day
-- counts for statistics, and how far each input has been processed.
-- Fingerprints are stored a batch at a time, packed (8 bytes each, little-endian):
-- a batch of a hundred thousand events is one row, not a hundred thousand.
CREATE TABLE feed_fingerprints (
    id           TEXT PRIMARY KEY,
    feed         TEXT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    fingerprints BYTEA NOT NULL
);
CREATE INDEX feed_fingerprints_feed ON feed_fingerprints (feed, expires_at);

CREATE TABLE feed_quarantine (
    id          TEXT PRIMARY KEY,
    feed        TEXT NOT NULL,
    source      TEXT NOT NULL,
    line        BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    raw         TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    replayed_at TIMESTAMPTZ
);
CREATE INDEX feed_quarantine_feed ON feed_quarantine (feed, created_at);

CREATE TABLE feed_counts (
    day                 TEXT NOT NULL,
    feed                TEXT NOT NULL,
    org_id              TEXT NOT NULL,
    classification_type TEXT NOT NULL,
    events              BIGINT NOT NULL,
    PRIMARY KEY (day, feed, org_id, classification_type)
);

CREATE TABLE feed_checkpoints (
    feed        TEXT NOT NULL,
    source      TEXT NOT NULL,
    bytes_done  BIGINT NOT NULL,
    lines_done  BIGINT NOT NULL,
    output_bytes BIGINT NOT NULL,
    finished    BOOLEAN NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (feed, source)
);
