-- The job queue and its log (seed 003's job_queue and job_log). A job's
-- state changes are vault-core's (jobs::lease); `due_at` is Job::due_at
-- (run_at while queued, the lease's end while running, NULL once
-- finished), so a claim reads only due jobs from one partial index.
CREATE TABLE job_queue (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    priority     INTEGER NOT NULL CHECK (priority BETWEEN -100 AND 100),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_at       TEXT NOT NULL,
    lease_worker TEXT,
    lease_until  TEXT,
    due_at       TEXT,
    fence        INTEGER NOT NULL CHECK (fence >= 0),
    unique_key   TEXT UNIQUE,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT,
    CHECK ((due_at IS NULL) = (state NOT IN ('queued', 'running')))
);
CREATE INDEX idx_job_queue_due ON job_queue (priority DESC, due_at, id) WHERE due_at IS NOT NULL;
CREATE INDEX idx_job_queue_created ON job_queue (created_at, id);
CREATE INDEX idx_job_queue_finished ON job_queue (finished_at) WHERE state IN ('succeeded', 'cancelled');

CREATE TABLE job_log (
    job_id      TEXT NOT NULL REFERENCES job_queue (id) ON DELETE CASCADE,
    fence       INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT CHECK (outcome IN ('succeeded', 'failed', 'released', 'lost', 'cancelled')),
    error       TEXT,
    PRIMARY KEY (job_id, fence)
);
