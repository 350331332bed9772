-- A purchase's used downloads, off its row, as 0012 and 0014 did for the
-- other counters a download adds to. Charging a download updated the wide
-- purchase row, which re-checked its seventeen CHECK constraints (read back
-- from text and compiled again for every statement): ~50 µs of a download's
-- ~345 on the server (pgbench -M prepared, the download's statement with
-- either charge). In a narrow row of its own the charge costs one heap tuple
-- and its one constraint; the guard's status is read under a share lock on
-- the purchase row, which a refund's or dispute's update waits for (and
-- which waits for theirs), so a charge never lands on a purchase refunded
-- meanwhile. Every purchase has its row from its insert on (a trigger).
CREATE TABLE workflow_purchase_download_counts (
    purchase_id    UUID PRIMARY KEY REFERENCES workflow_purchases (id) ON DELETE CASCADE,
    downloads_used BIGINT NOT NULL DEFAULT 0 CHECK (downloads_used >= 0)
);

INSERT INTO workflow_purchase_download_counts (purchase_id, downloads_used)
SELECT id, downloads_used FROM workflow_purchases;

CREATE FUNCTION workflow_purchase_download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_purchase_download_counts (purchase_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_purchases_download_counts_insert AFTER INSERT ON workflow_purchases
    FOR EACH ROW EXECUTE FUNCTION workflow_purchase_download_counts_follow();

ALTER TABLE workflow_purchases DROP COLUMN downloads_used;
