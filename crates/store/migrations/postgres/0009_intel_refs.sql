-- What STIX objects point at, one row per reference of each stored version:
-- relationships (source to target, by relationship type), sightings (to what was
-- sighted) and the objects of reports, groupings, notes and opinions. It answers "what
-- relates to this object" and "how often was this indicator sighted" without reading
-- every object.
CREATE TABLE intel_refs (
    seq     BIGINT NOT NULL REFERENCES intel_objects(seq) ON DELETE CASCADE,
    from_id TEXT NOT NULL,
    to_id   TEXT NOT NULL,
    kind    TEXT NOT NULL
);
CREATE INDEX intel_refs_to ON intel_refs (to_id);
CREATE INDEX intel_refs_from ON intel_refs (from_id);
CREATE INDEX intel_refs_seq ON intel_refs (seq);
