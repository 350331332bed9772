-- A workflow's download count, off the workflows row. The listing sorts by
-- it, so it is indexed; on `workflows` that made every download's update
-- of it non-HOT, a new row version entered into all fifteen indexes of the
-- table, six of them GIN (~0.6 ms of a download's statement here). In a
-- narrow row of its own it costs one heap tuple and two b-tree entries.
-- The listing's status is copied beside it, so the listing by downloads
-- walks one (status, count, id) index in order as the other sorts do; a
-- trigger keeps the copy, so no status write can forget it.
CREATE TABLE workflow_download_counts (
    workflow_id    UUID PRIMARY KEY REFERENCES workflows (id) ON DELETE CASCADE,
    listing_status TEXT NOT NULL,
    download_count BIGINT NOT NULL DEFAULT 0 CHECK (download_count >= 0)
);

INSERT INTO workflow_download_counts (workflow_id, listing_status, download_count)
SELECT id, status, download_count FROM workflows;

CREATE INDEX idx_workflow_download_counts_listing
    ON workflow_download_counts (listing_status, download_count DESC, workflow_id);

-- Every workflow has its row from its insert on; the status follows.
CREATE FUNCTION workflow_download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO workflow_download_counts (workflow_id, listing_status)
        VALUES (NEW.id, NEW.status);
    ELSE
        UPDATE workflow_download_counts SET listing_status = NEW.status
        WHERE workflow_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflows_download_counts_insert AFTER INSERT ON workflows
    FOR EACH ROW EXECUTE FUNCTION workflow_download_counts_follow();
CREATE TRIGGER workflows_download_counts_status AFTER UPDATE OF status ON workflows
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION workflow_download_counts_follow();

DROP VIEW workflow_stats;
DROP INDEX idx_workflows_status_downloads;
ALTER TABLE workflows DROP COLUMN download_count;

CREATE VIEW workflow_stats AS
SELECT w.id, w.slug, w.title, w.status, w.pricing_tier, w.category_id,
       c.name AS category_name,
       w.review_count, w.rating_sum,
       round(w.rating_avg, 2) AS rating,
       w.purchase_count AS total_purchases,
       COALESCE((SELECT SUM(a.revenue - a.refunds) FROM workflow_analytics a WHERE a.workflow_id = w.id), 0) AS total_revenue,
       (SELECT a.currency FROM workflow_analytics a
         WHERE a.workflow_id = w.id AND a.currency IS NOT NULL
         ORDER BY a.date DESC LIMIT 1) AS currency,
       w.favorite_count, d.download_count, w.view_count
FROM workflows w
JOIN workflow_categories c ON c.id = w.category_id
JOIN workflow_download_counts d ON d.workflow_id = w.id;
