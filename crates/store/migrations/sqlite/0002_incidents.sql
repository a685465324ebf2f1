-- Incident intake and handling: reports, incidents, milestones (deadline clocks),
-- observables, timeline, evidence with chain of custody.
CREATE TABLE reference_counters (
    prefix      TEXT PRIMARY KEY,            -- e.g. 'RPT-2026'
    last_number INTEGER NOT NULL
);

CREATE TABLE incidents (
    id               TEXT PRIMARY KEY,
    reference        TEXT NOT NULL UNIQUE,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    status           TEXT NOT NULL,
    rsit_class       TEXT,
    rsit_type        TEXT,
    tlp              TEXT NOT NULL,
    pap              TEXT NOT NULL,
    severity         TEXT NOT NULL,
    tw_level         INTEGER,
    sector           TEXT,
    org_id           TEXT REFERENCES organisations(id),
    nis2_significant INTEGER NOT NULL DEFAULT 0,
    assignee_id      TEXT REFERENCES users(id),
    merged_into      TEXT REFERENCES incidents(id),
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX incidents_status_created ON incidents (status, created_at DESC, id DESC);
CREATE INDEX incidents_created ON incidents (created_at DESC, id DESC);
CREATE INDEX incidents_org ON incidents (org_id, created_at DESC);
CREATE INDEX incidents_assignee ON incidents (assignee_id, status);

CREATE VIRTUAL TABLE incidents_fts USING fts5 (title, description, content='incidents', content_rowid='rowid');
CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;
CREATE TRIGGER incidents_fts_update AFTER UPDATE OF title, description ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO incidents_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

CREATE TABLE incident_milestones (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    name        TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (incident_id, name)
);

CREATE TABLE reports (
    id                   TEXT PRIMARY KEY,
    reference            TEXT NOT NULL UNIQUE,
    status               TEXT NOT NULL,
    channel              TEXT NOT NULL,
    quarantined          INTEGER NOT NULL DEFAULT 0,
    reporter_name        TEXT,
    reporter_email       TEXT,
    reporter_org         TEXT,
    submitted_by         TEXT REFERENCES users(id),
    org_id               TEXT REFERENCES organisations(id),
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    started_at           TEXT,
    noticed_at           TEXT,
    affected             TEXT NOT NULL,
    suggested_category   TEXT,
    tw_level             INTEGER,
    impact               TEXT,
    ci_services          TEXT,
    tlp                  TEXT NOT NULL,
    status_secret_digest TEXT,
    incident_id          TEXT REFERENCES incidents(id),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX reports_status_created ON reports (status, created_at DESC);
CREATE INDEX reports_incident ON reports (incident_id);
CREATE INDEX reports_org ON reports (org_id, created_at DESC);

CREATE TABLE observables (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX observables_value ON observables (value);

CREATE TABLE incident_observables (
    incident_id   TEXT NOT NULL REFERENCES incidents(id),
    observable_id INTEGER NOT NULL REFERENCES observables(id),
    first_seen    TEXT NOT NULL,
    PRIMARY KEY (incident_id, observable_id)
);
CREATE INDEX incident_observables_observable ON incident_observables (observable_id, incident_id);

CREATE TABLE report_observables (
    report_id     TEXT NOT NULL REFERENCES reports(id),
    observable_id INTEGER NOT NULL REFERENCES observables(id),
    PRIMARY KEY (report_id, observable_id)
);

CREATE TABLE timeline (
    id          TEXT PRIMARY KEY,
    incident_id TEXT REFERENCES incidents(id),
    report_id   TEXT REFERENCES reports(id),
    kind        TEXT NOT NULL,
    event_at    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, event_at);
CREATE INDEX timeline_report ON timeline (report_id, event_at);

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    report_id    TEXT REFERENCES reports(id),
    incident_id  TEXT REFERENCES incidents(id),
    created_at   TEXT NOT NULL
);
CREATE INDEX attachments_report ON attachments (report_id);
CREATE INDEX attachments_incident ON attachments (incident_id);

CREATE TABLE custody (
    id            TEXT PRIMARY KEY,
    attachment_id TEXT NOT NULL REFERENCES attachments(id),
    action        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX custody_attachment ON custody (attachment_id, at);
