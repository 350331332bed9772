-- Every access read asks whether the user downloaded the workflow before
-- (archived workflows stay open to them). The per-user index is ordered by
-- time, so that probe scanned all of a user's downloads when the answer was
-- no; this one answers it with one seek. (PostgreSQL has had it from 0001.)
CREATE INDEX idx_workflow_downloads_user_workflow ON workflow_downloads (user_id, workflow_id);
