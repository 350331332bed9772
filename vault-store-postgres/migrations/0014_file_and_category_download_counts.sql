-- A file's and a category's download counts, off their rows, as 0012 did
-- for the workflow's. PostgreSQL checks every CHECK constraint of a table
-- on every row an UPDATE writes, reading each back from its stored text
-- and compiling it again for every statement: adding one to a file's count
-- re-checked its ten constraints (two regular expressions, one JSON path)
-- and rewrote its wide row, ~45 µs of a download's ~420 on the server; the
-- category's four ~25 µs (pgbench -M prepared, the download's statement
-- with and without each step). In a narrow row of their own each costs one
-- heap tuple and its one constraint. Every file and category has its row
-- from its insert on (a trigger, so no insert path can forget it).
CREATE TABLE workflow_file_download_counts (
    file_id        UUID PRIMARY KEY REFERENCES workflow_files (id) ON DELETE CASCADE,
    download_count BIGINT NOT NULL DEFAULT 0 CHECK (download_count >= 0)
);

INSERT INTO workflow_file_download_counts (file_id, download_count)
SELECT id, download_count FROM workflow_files;

CREATE TABLE workflow_category_download_counts (
    category_id     UUID PRIMARY KEY REFERENCES workflow_categories (id) ON DELETE CASCADE,
    total_downloads BIGINT NOT NULL DEFAULT 0 CHECK (total_downloads >= 0)
);

INSERT INTO workflow_category_download_counts (category_id, total_downloads)
SELECT id, total_downloads FROM workflow_categories;

CREATE FUNCTION workflow_file_download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_file_download_counts (file_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_files_download_counts_insert AFTER INSERT ON workflow_files
    FOR EACH ROW EXECUTE FUNCTION workflow_file_download_counts_follow();

CREATE FUNCTION workflow_category_download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_category_download_counts (category_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_categories_download_counts_insert AFTER INSERT ON workflow_categories
    FOR EACH ROW EXECUTE FUNCTION workflow_category_download_counts_follow();

ALTER TABLE workflow_files DROP COLUMN download_count;
ALTER TABLE workflow_categories DROP COLUMN total_downloads;
