-- Scale-out feed workers. Fingerprints get a per-feed sequence number, so a worker
-- can load only what others committed since it last looked; a short lease per feed
-- lets one worker at a time check its batch against the latest fingerprints and
-- commit it, while all of them parse and route in parallel.
ALTER TABLE feed_fingerprints ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX feed_fingerprints_seq ON feed_fingerprints (feed, seq);

CREATE TABLE feed_leases (
    feed       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
