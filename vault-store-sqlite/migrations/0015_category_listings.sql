-- A category's page in each listing order by one walk of one index. A
-- category's listing walked the whole catalog's order index instead and
-- read every row it passed to test the category: ~190 row reads for a
-- page of 21 where one workflow in nine is in the category (the bench's
-- catalog), more with more categories. The storefront's category pages
-- are its most common listing. Only the download order's index moves on
-- a download (one entry more to move per download, measured in
-- benches/README.md); the others move when staff edit a workflow.
CREATE INDEX idx_workflows_category_downloads
    ON workflows (status, category_id, download_count DESC, id);
CREATE INDEX idx_workflows_category_newest ON workflows (status, category_id, newest_at DESC, id);
CREATE INDEX idx_workflows_category_score
    ON workflows (status, category_id, wedge_score_x10 DESC, id);
CREATE INDEX idx_workflows_category_rating ON workflows (
    status,
    category_id,
    (CASE WHEN review_count = 0 THEN -1.0 ELSE CAST(rating_sum AS REAL) / review_count END) DESC,
    id
);

-- A search's window walks the newest-first order and matches each row's
-- `search_words`: with the words in that order's index, the walk reads
-- index pages only, where it read each row's table page too. callgrind
-- (`profile_loop search_rare sqlite`, a 1000-row window): 4.6M -> 3.7M
-- instructions a search. It replaces the order's index of 0001, which it
-- serves as well.
CREATE INDEX idx_workflows_newest_words
    ON workflows (status, newest_at DESC, id, deleted_at, search_words);
DROP INDEX idx_workflows_status_newest;
