-- The counters a download adds to, off their rows, as 0012 did for the
-- workflow's: a file's and a category's download counts and a purchase's
-- used downloads. PostgreSQL checks every CHECK constraint of a table on
-- every row an UPDATE writes, reading each back from its stored text and
-- compiling it again for every statement: adding one to a file's count
-- re-checked its ten constraints (two regular expressions, one JSON path)
-- and rewrote its wide row, the category's four, the purchase's seventeen:
-- ~45, ~25 and ~50 µs of a download's ~420 on the server (pgbench -M
-- prepared, the download's statement with and without each step). In a
-- narrow row of its own each costs one heap tuple and its one constraint.
-- A charge reads the purchase's status under a share lock on the purchase
-- row, which a refund's or dispute's update waits for (and which waits for
-- theirs), so a charge never lands on a purchase refunded meanwhile.
-- Every file, category and purchase has its row from its insert on (a
-- trigger, so no insert path can forget it).
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

CREATE TABLE workflow_purchase_download_counts (
    purchase_id    UUID PRIMARY KEY REFERENCES workflow_purchases (id) ON DELETE CASCADE,
    downloads_used BIGINT NOT NULL DEFAULT 0 CHECK (downloads_used >= 0)
);
INSERT INTO workflow_purchase_download_counts (purchase_id, downloads_used)
SELECT id, downloads_used FROM workflow_purchases;

-- One function for the three inserts, by the table that fired it.
CREATE FUNCTION download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    CASE TG_TABLE_NAME
    WHEN 'workflow_files' THEN
        INSERT INTO workflow_file_download_counts (file_id) VALUES (NEW.id);
    WHEN 'workflow_categories' THEN
        INSERT INTO workflow_category_download_counts (category_id) VALUES (NEW.id);
    WHEN 'workflow_purchases' THEN
        INSERT INTO workflow_purchase_download_counts (purchase_id) VALUES (NEW.id);
    END CASE;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_files_download_counts_insert AFTER INSERT ON workflow_files
    FOR EACH ROW EXECUTE FUNCTION download_counts_follow();
CREATE TRIGGER workflow_categories_download_counts_insert AFTER INSERT ON workflow_categories
    FOR EACH ROW EXECUTE FUNCTION download_counts_follow();
CREATE TRIGGER workflow_purchases_download_counts_insert AFTER INSERT ON workflow_purchases
    FOR EACH ROW EXECUTE FUNCTION download_counts_follow();

ALTER TABLE workflow_files DROP COLUMN download_count;
ALTER TABLE workflow_categories DROP COLUMN total_downloads;
ALTER TABLE workflow_purchases DROP COLUMN downloads_used;
