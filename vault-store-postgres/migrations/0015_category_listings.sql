-- A category's page in each listing order by one walk of one index. A
-- category's listing walked the whole catalog's order index instead and
-- fetched every workflow it passed to test the category: ~180 row fetches
-- for a page of 21 where one workflow in nine is in the category (the
-- bench's catalog), more with more categories. The storefront's category
-- pages are its most common listing.
--
-- By downloads, the order lives in the narrow count rows (0012), so the
-- category is copied there beside the status, and the same trigger keeps
-- both copies.
ALTER TABLE workflow_download_counts ADD COLUMN listing_category UUID;
UPDATE workflow_download_counts d SET listing_category = w.category_id
FROM workflows w WHERE w.id = d.workflow_id;
ALTER TABLE workflow_download_counts ALTER COLUMN listing_category SET NOT NULL;

CREATE INDEX idx_workflow_download_counts_category ON workflow_download_counts
    (listing_status, listing_category, download_count DESC, workflow_id);

CREATE OR REPLACE FUNCTION workflow_download_counts_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO workflow_download_counts (workflow_id, listing_status, listing_category)
        VALUES (NEW.id, NEW.status, NEW.category_id);
    ELSE
        UPDATE workflow_download_counts
        SET listing_status = NEW.status, listing_category = NEW.category_id
        WHERE workflow_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER workflows_download_counts_status ON workflows;
CREATE TRIGGER workflows_download_counts_listing AFTER UPDATE OF status, category_id ON workflows
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.category_id IS DISTINCT FROM NEW.category_id)
    EXECUTE FUNCTION workflow_download_counts_follow();

CREATE INDEX idx_workflows_category_score ON workflows (status, category_id, wedge_score DESC, id);
CREATE INDEX idx_workflows_category_newest ON workflows (status, category_id, newest_at DESC, id);
CREATE INDEX idx_workflows_category_rating
    ON workflows (status, category_id, rating_avg DESC NULLS LAST, id);
