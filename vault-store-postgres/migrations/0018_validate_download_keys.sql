-- Checks the download rows already there against 0017's keys and CHECK,
-- in a migration of its own: VALIDATE takes a lock that lets reads and
-- writes of the rows go on while it scans them.
ALTER TABLE workflow_downloads VALIDATE CONSTRAINT workflow_downloads_file_id_fkey;
ALTER TABLE workflow_downloads VALIDATE CONSTRAINT workflow_downloads_purchase_id_fkey;
ALTER TABLE workflow_downloads VALIDATE CONSTRAINT workflow_downloads_membership_id_fkey;
ALTER TABLE workflow_downloads VALIDATE CONSTRAINT workflow_downloads_charged_user;
