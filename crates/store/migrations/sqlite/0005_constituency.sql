-- The constituency registry (contacts, network assets, peer CSIRTs, the IP→ASN
-- routing table) and notifications (templates, directives, outbox, delivery log).
CREATE TABLE org_contacts (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    role            TEXT NOT NULL,
    name            TEXT,
    email           TEXT,
    phone           TEXT,
    language        TEXT NOT NULL,
    pgp_key         TEXT,
    pgp_fingerprint TEXT,
    pgp_expires_at  TEXT,
    source          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX org_contacts_org ON org_contacts (org_id, role);
CREATE INDEX org_contacts_email ON org_contacts (email);

CREATE TABLE org_assets (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organisations(id),
    kind               TEXT NOT NULL,
    value              TEXT NOT NULL,
    include_subdomains INTEGER NOT NULL,
    source             TEXT NOT NULL,
    status             TEXT NOT NULL,
    valid_from         TEXT,
    valid_until        TEXT,
    comment            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX org_assets_claim ON org_assets (org_id, kind, value, source);
CREATE INDEX org_assets_source ON org_assets (source);
CREATE INDEX org_assets_value ON org_assets (value);

CREATE TABLE peer_csirts (
    org_id      TEXT PRIMARY KEY REFERENCES organisations(id),
    national    INTEGER NOT NULL,
    taxii_url   TEXT,
    misp_url    TEXT,
    comment     TEXT NOT NULL
);

CREATE TABLE routing_prefixes (
    source      TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    asn         BIGINT,
    country     TEXT,
    PRIMARY KEY (source, prefix)
);

-- Bumped on every registry change, so every replica rebuilds its lookup index.
CREATE TABLE registry_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO registry_generation (id, generation) VALUES (1, 1);

CREATE TABLE notification_templates (
    kind        TEXT NOT NULL,
    language    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, language)
);

CREATE TABLE suppression_rules (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT REFERENCES organisations(id),
    sector              TEXT,
    classification_type TEXT,
    action              TEXT NOT NULL,
    copy_to             TEXT,
    comment             TEXT NOT NULL,
    created_at          TEXT NOT NULL
);

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    org_id          TEXT REFERENCES organisations(id),
    recipient       TEXT NOT NULL,
    cc              TEXT NOT NULL,
    template_kind   TEXT NOT NULL,
    language        TEXT NOT NULL,
    format          TEXT NOT NULL,
    aggregation_key TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    raw             BLOB NOT NULL,
    event_count     BIGINT NOT NULL,
    signed          INTEGER NOT NULL,
    encrypted       INTEGER NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    incident_id     TEXT REFERENCES incidents(id),
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_org ON notifications (org_id, created_at);
CREATE INDEX notifications_group ON notifications (recipient, template_kind, format, aggregation_key, created_at);

CREATE TABLE notification_directives (
    id              TEXT PRIMARY KEY,
    org_id          TEXT REFERENCES organisations(id),
    recipient       TEXT NOT NULL,
    template_kind   TEXT NOT NULL,
    language        TEXT NOT NULL,
    format          TEXT NOT NULL,
    aggregation_key TEXT NOT NULL,
    interval_secs   BIGINT NOT NULL,
    event_key       TEXT NOT NULL,
    event_json      TEXT NOT NULL,
    source          TEXT NOT NULL,
    source_id       TEXT,
    incident_id     TEXT REFERENCES incidents(id),
    created_at      TEXT NOT NULL,
    notification_id TEXT REFERENCES notifications(id)
);
CREATE INDEX directives_pending ON notification_directives (notification_id, recipient, template_kind, format, aggregation_key);
CREATE INDEX directives_seen ON notification_directives (recipient, event_key, created_at);

CREATE TABLE notification_log (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    at              TEXT NOT NULL,
    status          TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX notification_log_notification ON notification_log (notification_id, seq);
