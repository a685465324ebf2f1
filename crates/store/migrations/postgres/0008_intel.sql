-- The intelligence store: STIX 2.1 objects, one row per version, with who produced
-- them, their TLP and PAP, and who they are for (the access policy's audience).
-- Sharing groups name sets of organisations (members and peers); trusted publishers
-- are organisations whose submissions skip the review queue.
CREATE TABLE sharing_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE sharing_group_members (
    group_id TEXT NOT NULL REFERENCES sharing_groups(id) ON DELETE CASCADE,
    org_id   TEXT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (group_id, org_id)
);
CREATE INDEX sharing_group_members_org ON sharing_group_members (org_id);

CREATE TABLE intel_publishers (
    org_id     TEXT PRIMARY KEY REFERENCES organisations(id),
    created_at TIMESTAMPTZ NOT NULL
);

-- One submission (an API or TAXII request); TAXII's status resource is read from it
-- and from the objects that name it.
CREATE TABLE intel_submissions (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    total      BIGINT NOT NULL,
    -- JSON lists: [id, version, reason] of objects refused on arrival, and [id, version]
    -- of objects that were stored before.
    failures   TEXT NOT NULL,
    present    TEXT NOT NULL
);

CREATE TABLE intel_objects (
    -- Order of arrival: TAXII's pages and date_added follow it.
    seq BIGSERIAL PRIMARY KEY,
    stix_id      TEXT NOT NULL,
    stix_type    TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    -- modified (else created) as fixed-width UTC text, which sorts as time; empty for
    -- objects with neither (one version only).
    version_key  TEXT NOT NULL,
    version      TEXT NOT NULL,
    -- Fixed-width UTC text, strictly increasing with seq.
    date_added   TEXT NOT NULL,
    producer_org TEXT NOT NULL,
    tlp          TEXT NOT NULL,
    pap          TEXT NOT NULL,
    -- org | orgs | group | community | public, and the group id or the org ids.
    audience     TEXT NOT NULL,
    audience_ref TEXT NOT NULL,
    -- published | pending (review queue) | rejected
    status       TEXT NOT NULL,
    -- The newest published version of its id.
    latest       BOOLEAN NOT NULL,
    -- Provenance: api, taxii, ui, or the peer it was pulled from.
    source       TEXT NOT NULL,
    submission   TEXT NOT NULL,
    body         TEXT NOT NULL,
    UNIQUE (stix_id, version_key)
);
CREATE INDEX intel_objects_scope ON intel_objects (audience, audience_ref, seq);
CREATE INDEX intel_objects_added ON intel_objects (date_added);
CREATE INDEX intel_objects_submission ON intel_objects (submission);
CREATE INDEX intel_objects_status ON intel_objects (status, seq);
