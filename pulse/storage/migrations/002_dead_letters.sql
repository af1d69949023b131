-- 002: records the database refused for good (docs/api.md §Durability: every dropped item is
-- counted with a reason). The writer loop isolates a bad row by bisecting its batch and parks it
-- here, so the rest of the batch lands. payload is the record as the ingest path had it.
CREATE TABLE pulse.dead_letters (
    id           bigserial PRIMARY KEY,
    project_id   uuid,
    kind         text NOT NULL,           -- 'trace' | 'span' | 'entry' (undecodable queue entry)
    payload      text NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_project_idx ON pulse.dead_letters (project_id, created_at);
