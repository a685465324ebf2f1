-- Work on incidents: tasks (from playbooks or by hand), investigations (coordination
-- with one outside party), countermeasures (blocks and takedowns), and links between
-- incidents; notices sent about deadlines, so each is sent once.
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    title       TEXT NOT NULL,
    assignee_id TEXT REFERENCES users(id),
    due_at      TEXT,
    done_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX tasks_incident ON tasks (incident_id, created_at);
CREATE INDEX tasks_assignee_open ON tasks (assignee_id, done_at);

CREATE TABLE investigations (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    party       TEXT NOT NULL,
    contact     TEXT,
    org_id      TEXT REFERENCES organisations(id),
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX investigations_incident ON investigations (incident_id);

CREATE TABLE countermeasures (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX countermeasures_incident ON countermeasures (incident_id);

CREATE TABLE incident_links (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    other_id    TEXT NOT NULL REFERENCES incidents(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, other_id)
);

CREATE TABLE deadline_notices (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    regime      TEXT NOT NULL,
    obligation  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (incident_id, regime, obligation, kind, due_at)
);
