-- Workflow Vault, seed 000 in SQLite terms.
--
-- Conventions:
--   ids        TEXT, hyphenated lowercase UUIDs (their text order is their byte order)
--   timestamps TEXT, UTC, fixed width 'YYYY-MM-DDTHH:MM:SS.fffffffffZ' (text order is time order)
--   money      INTEGER minor units (cents) + TEXT ISO 4217 currency: exact and summable
--   lists/maps TEXT holding JSON
-- Counters the seed kept with triggers are maintained by the store in the
-- same transaction as the change that moves them.

CREATE TABLE workflow_categories (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    icon            TEXT NOT NULL,
    color           TEXT NOT NULL,
    order_index     INTEGER NOT NULL,
    is_active       INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    workflow_count  INTEGER NOT NULL DEFAULT 0 CHECK (workflow_count >= 0),
    total_downloads INTEGER NOT NULL DEFAULT 0 CHECK (total_downloads >= 0),
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX idx_workflow_categories_order ON workflow_categories (order_index, slug);

CREATE TABLE workflows (
    id                  TEXT PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE,
    title               TEXT NOT NULL,
    short_description   TEXT NOT NULL,
    description         TEXT NOT NULL,
    category_id         TEXT NOT NULL REFERENCES workflow_categories (id),
    -- W.E.D.G.E.: scores in tenths (7.5 is 75), exact and sortable
    wedge_score_x10     INTEGER NOT NULL CHECK (wedge_score_x10 BETWEEN 0 AND 100),
    workflow_complexity TEXT NOT NULL CHECK (workflow_complexity IN ('beginner', 'intermediate', 'advanced', 'expert')),
    efficiency_x10      INTEGER NOT NULL CHECK (efficiency_x10 BETWEEN 0 AND 100),
    digital_maturity    TEXT NOT NULL CHECK (digital_maturity IN ('foundational', 'developing', 'established', 'advanced', 'cutting_edge')),
    growth_potential    TEXT NOT NULL CHECK (growth_potential IN ('low', 'moderate', 'high', 'exponential')),
    excellence_tier     TEXT NOT NULL CHECK (excellence_tier IN ('standard', 'professional', 'elite', 'legendary')),
    pricing_tier        TEXT NOT NULL CHECK (pricing_tier IN ('free', 'basic', 'pro', 'premium', 'enterprise')),
    price_minor         INTEGER CHECK (price_minor >= 0),
    currency            TEXT,
    media               TEXT NOT NULL,
    features            TEXT NOT NULL,
    requirements        TEXT NOT NULL,
    includes            TEXT NOT NULL,
    tags                TEXT NOT NULL,
    seo                 TEXT NOT NULL,
    update_months       INTEGER CHECK (update_months > 0),
    download_limit      INTEGER CHECK (download_limit > 0),
    status              TEXT NOT NULL CHECK (status IN ('draft', 'published', 'archived', 'coming_soon')),
    current_version     TEXT,
    download_count      INTEGER NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    favorite_count      INTEGER NOT NULL DEFAULT 0 CHECK (favorite_count >= 0),
    view_count          INTEGER NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    purchase_count      INTEGER NOT NULL DEFAULT 0 CHECK (purchase_count >= 0),
    -- rating aggregate of approved reviews: per-star counts and per-dimension totals
    stars_1 INTEGER NOT NULL DEFAULT 0 CHECK (stars_1 >= 0),
    stars_2 INTEGER NOT NULL DEFAULT 0 CHECK (stars_2 >= 0),
    stars_3 INTEGER NOT NULL DEFAULT 0 CHECK (stars_3 >= 0),
    stars_4 INTEGER NOT NULL DEFAULT 0 CHECK (stars_4 >= 0),
    stars_5 INTEGER NOT NULL DEFAULT 0 CHECK (stars_5 >= 0),
    dim_complexity_count INTEGER NOT NULL DEFAULT 0, dim_complexity_sum INTEGER NOT NULL DEFAULT 0,
    dim_efficiency_count INTEGER NOT NULL DEFAULT 0, dim_efficiency_sum INTEGER NOT NULL DEFAULT 0,
    dim_maturity_count   INTEGER NOT NULL DEFAULT 0, dim_maturity_sum   INTEGER NOT NULL DEFAULT 0,
    dim_growth_count     INTEGER NOT NULL DEFAULT 0, dim_growth_sum     INTEGER NOT NULL DEFAULT 0,
    dim_excellence_count INTEGER NOT NULL DEFAULT 0, dim_excellence_sum INTEGER NOT NULL DEFAULT 0,
    review_count INTEGER GENERATED ALWAYS AS (stars_1 + stars_2 + stars_3 + stars_4 + stars_5) VIRTUAL,
    rating_sum   INTEGER GENERATED ALWAYS AS (stars_1 + 2 * stars_2 + 3 * stars_3 + 4 * stars_4 + 5 * stars_5) VIRTUAL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    published_at TEXT,
    archived_at  TEXT,
    newest_at    TEXT GENERATED ALWAYS AS (COALESCE(published_at, created_at)) VIRTUAL,
    revision     INTEGER NOT NULL DEFAULT 0,
    CHECK ((price_minor IS NULL) = (currency IS NULL))
);
CREATE INDEX idx_workflows_category ON workflows (category_id, status);
CREATE INDEX idx_workflows_status_score ON workflows (status, wedge_score_x10 DESC, id);
CREATE INDEX idx_workflows_status_downloads ON workflows (status, download_count DESC, id);
CREATE INDEX idx_workflows_status_newest ON workflows (status, newest_at DESC, id);
CREATE INDEX idx_workflows_status_rating ON workflows (status, (CASE WHEN review_count = 0 THEN -1.0 ELSE CAST(rating_sum AS REAL) / review_count END) DESC, id);
CREATE INDEX idx_workflows_tier ON workflows (pricing_tier, status);
CREATE INDEX idx_workflows_price ON workflows (currency, price_minor);

-- Tags, one row each, for "has every tag" filters.
CREATE TABLE workflow_tags (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (workflow_id, tag)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_tags_tag ON workflow_tags (tag, workflow_id);

-- Full-text search over title, descriptions and tags; rowid = workflows.rowid,
-- written in the same transaction as the workflow.
CREATE VIRTUAL TABLE workflows_fts USING fts5 (
    title, short_description, description, tags,
    tokenize = 'unicode61 remove_diacritics 0'
);

CREATE TABLE workflow_files (
    id             TEXT PRIMARY KEY,
    workflow_id    TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    file_type      TEXT NOT NULL CHECK (file_type IN ('make', 'n8n', 'zapier', 'json', 'pdf', 'zip', 'video', 'other')),
    file_name      TEXT NOT NULL,
    storage_key    TEXT NOT NULL,
    mime_type      TEXT NOT NULL,
    version        TEXT NOT NULL,
    version_major  INTEGER NOT NULL,
    version_minor  INTEGER NOT NULL,
    version_patch  INTEGER NOT NULL,
    is_primary     INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    access         TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL CHECK (size_bytes >= 0),
    checksum       TEXT NOT NULL,
    download_count INTEGER NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX idx_workflow_files_workflow ON workflow_files (workflow_id, is_primary DESC, version_major DESC, version_minor DESC, version_patch DESC, id);
CREATE UNIQUE INDEX idx_workflow_files_one_primary ON workflow_files (workflow_id) WHERE is_primary = 1;

CREATE TABLE workflow_updates (
    id             TEXT PRIMARY KEY,
    workflow_id    TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version        TEXT NOT NULL,
    version_major  INTEGER NOT NULL,
    version_minor  INTEGER NOT NULL,
    version_patch  INTEGER NOT NULL,
    changelog      TEXT NOT NULL,
    files_added    TEXT NOT NULL,
    files_modified TEXT NOT NULL,
    files_removed  TEXT NOT NULL,
    release_notes  TEXT NOT NULL,
    is_major       INTEGER NOT NULL CHECK (is_major IN (0, 1)),
    released_at    TEXT NOT NULL,
    UNIQUE (workflow_id, version)
);
CREATE INDEX idx_workflow_updates_order ON workflow_updates (workflow_id, version_major, version_minor, version_patch);

CREATE TABLE workflow_bundles (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL,
    workflow_ids   TEXT NOT NULL,
    currency       TEXT NOT NULL,
    price_minor    INTEGER NOT NULL CHECK (price_minor >= 0),
    original_minor INTEGER NOT NULL CHECK (original_minor >= price_minor),
    savings_minor  INTEGER GENERATED ALWAYS AS (original_minor - price_minor) VIRTUAL,
    valid_from     TEXT,
    valid_until    TEXT,
    seo            TEXT NOT NULL,
    is_active      INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    purchase_count INTEGER NOT NULL DEFAULT 0 CHECK (purchase_count >= 0),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE workflow_bundle_items (
    bundle_id   TEXT NOT NULL REFERENCES workflow_bundles (id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (bundle_id, workflow_id)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_bundle_items_workflow ON workflow_bundle_items (workflow_id);

CREATE TABLE memberships (
    id                       TEXT PRIMARY KEY,
    user_id                  TEXT NOT NULL,
    tier                     TEXT NOT NULL CHECK (tier IN ('basic', 'pro', 'premium', 'enterprise')),
    status                   TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
    trial_ends_at            TEXT,
    current_period_start     TEXT NOT NULL,
    current_period_end       TEXT NOT NULL,
    period_download_limit    INTEGER CHECK (period_download_limit > 0),
    period_downloads_used    INTEGER NOT NULL DEFAULT 0 CHECK (period_downloads_used >= 0),
    cancel_at_period_end     INTEGER NOT NULL CHECK (cancel_at_period_end IN (0, 1)),
    past_due_since           TEXT,
    canceled_at              TEXT,
    ended_at                 TEXT,
    features                 TEXT NOT NULL,
    enrolled_at              TEXT NOT NULL,
    stripe_customer_id       TEXT,
    stripe_subscription_id   TEXT,
    stripe_price_id          TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    revision                 INTEGER NOT NULL DEFAULT 0,
    CHECK (current_period_end > current_period_start)
);
CREATE INDEX idx_memberships_user ON memberships (user_id, created_at DESC, id);
CREATE INDEX idx_memberships_status ON memberships (status, id);
CREATE INDEX idx_memberships_subscription ON memberships (stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL;

CREATE TABLE workflow_purchases (
    id                         TEXT PRIMARY KEY,
    user_id                    TEXT NOT NULL,
    purchase_type              TEXT NOT NULL CHECK (purchase_type IN ('one_time', 'bundle', 'membership_included')),
    workflow_id                TEXT REFERENCES workflows (id),
    bundle_id                  TEXT REFERENCES workflow_bundles (id),
    membership_id              TEXT REFERENCES memberships (id),
    item_workflows             TEXT NOT NULL, -- JSON: the workflows granted, in order
    license_type               TEXT NOT NULL CHECK (license_type IN ('personal', 'team', 'commercial', 'enterprise')),
    license_key                TEXT NOT NULL UNIQUE,
    download_limit             INTEGER CHECK (download_limit > 0),
    downloads_used             INTEGER NOT NULL DEFAULT 0 CHECK (downloads_used >= 0),
    license_expires_at         TEXT,
    update_months              INTEGER CHECK (update_months > 0),
    updates_until              TEXT,
    payment_status             TEXT NOT NULL CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded', 'partially_refunded', 'disputed')),
    currency                   TEXT NOT NULL,
    amount_minor               INTEGER NOT NULL CHECK (amount_minor >= 0),
    tax_minor                  INTEGER NOT NULL CHECK (tax_minor >= 0),
    total_minor                INTEGER NOT NULL,
    refunded_minor             INTEGER CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor),
    refund_reason              TEXT,
    refunded_at                TEXT,
    payment_ref                TEXT UNIQUE,
    stripe_customer_id         TEXT,
    stripe_checkout_session_id TEXT,
    stripe_payment_intent_id   TEXT,
    stripe_subscription_id     TEXT,
    stripe_price_id            TEXT,
    created_at                 TEXT NOT NULL,
    completed_at               TEXT,
    disputed_at                TEXT,
    updated_at                 TEXT NOT NULL,
    CHECK (total_minor = amount_minor + tax_minor)
);
CREATE INDEX idx_workflow_purchases_user ON workflow_purchases (user_id, created_at DESC, id);
CREATE INDEX idx_workflow_purchases_workflow ON workflow_purchases (workflow_id);
CREATE INDEX idx_workflow_purchases_bundle ON workflow_purchases (bundle_id);
CREATE INDEX idx_workflow_purchases_membership ON workflow_purchases (membership_id) WHERE membership_id IS NOT NULL;
CREATE INDEX idx_workflow_purchases_status ON workflow_purchases (payment_status);
CREATE INDEX idx_workflow_purchases_checkout ON workflow_purchases (stripe_checkout_session_id) WHERE stripe_checkout_session_id IS NOT NULL;

-- Which workflows each purchase grants (a bundle's members at purchase time).
CREATE TABLE workflow_purchase_items (
    purchase_id TEXT NOT NULL REFERENCES workflow_purchases (id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (purchase_id, workflow_id)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_purchase_items_workflow ON workflow_purchase_items (workflow_id, purchase_id);

CREATE TABLE workflow_downloads (
    id            TEXT PRIMARY KEY,
    user_id       TEXT,
    workflow_id   TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    file_id       TEXT NOT NULL REFERENCES workflow_files (id) ON DELETE CASCADE,
    file_version  TEXT NOT NULL,
    download_type TEXT NOT NULL CHECK (download_type IN ('free', 'purchased', 'membership', 'trial')),
    source        TEXT NOT NULL CHECK (source IN ('free', 'purchase', 'membership', 'staff')),
    purchase_id   TEXT REFERENCES workflow_purchases (id),
    membership_id TEXT REFERENCES memberships (id),
    ip_hash       TEXT,
    user_agent    TEXT,
    referrer      TEXT,
    country_code  TEXT,
    downloaded_at TEXT NOT NULL
);
CREATE INDEX idx_workflow_downloads_user ON workflow_downloads (user_id, downloaded_at DESC, id);
CREATE INDEX idx_workflow_downloads_workflow ON workflow_downloads (workflow_id, downloaded_at DESC, id);
CREATE INDEX idx_workflow_downloads_file ON workflow_downloads (file_id);
CREATE INDEX idx_workflow_downloads_purchase ON workflow_downloads (purchase_id) WHERE purchase_id IS NOT NULL;
CREATE INDEX idx_workflow_downloads_membership ON workflow_downloads (membership_id) WHERE membership_id IS NOT NULL;

CREATE TABLE workflow_reviews (
    id                   TEXT PRIMARY KEY,
    workflow_id          TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL,
    rating               INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rating_complexity    INTEGER CHECK (rating_complexity BETWEEN 1 AND 5),
    rating_efficiency    INTEGER CHECK (rating_efficiency BETWEEN 1 AND 5),
    rating_maturity      INTEGER CHECK (rating_maturity BETWEEN 1 AND 5),
    rating_growth        INTEGER CHECK (rating_growth BETWEEN 1 AND 5),
    rating_excellence    INTEGER CHECK (rating_excellence BETWEEN 1 AND 5),
    title                TEXT NOT NULL,
    body                 TEXT NOT NULL,
    is_verified_purchase INTEGER NOT NULL CHECK (is_verified_purchase IN (0, 1)),
    helpful_count        INTEGER NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
    not_helpful_count    INTEGER NOT NULL DEFAULT 0 CHECK (not_helpful_count >= 0),
    status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'flagged')),
    moderated_by         TEXT,
    moderated_at         TEXT,
    moderation_note      TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    revision             INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workflow_id, user_id)
);
CREATE INDEX idx_workflow_reviews_workflow_status ON workflow_reviews (workflow_id, status, id);
CREATE INDEX idx_workflow_reviews_user ON workflow_reviews (user_id);

CREATE TABLE workflow_review_votes (
    review_id TEXT NOT NULL REFERENCES workflow_reviews (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    vote      TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')),
    PRIMARY KEY (review_id, user_id)
) WITHOUT ROWID;

CREATE TABLE workflow_analytics (
    workflow_id     TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    date            TEXT NOT NULL,
    views           INTEGER NOT NULL DEFAULT 0,
    unique_visitors INTEGER NOT NULL DEFAULT 0,
    clicks          INTEGER NOT NULL DEFAULT 0,
    downloads       INTEGER NOT NULL DEFAULT 0,
    purchases       INTEGER NOT NULL DEFAULT 0,
    revenue_minor   INTEGER NOT NULL DEFAULT 0,
    refunds_minor   INTEGER NOT NULL DEFAULT 0,
    currency        TEXT,
    favorites       INTEGER NOT NULL DEFAULT 0,
    shares          INTEGER NOT NULL DEFAULT 0,
    reviews         INTEGER NOT NULL DEFAULT 0,
    traffic_sources TEXT NOT NULL DEFAULT '{}',
    countries       TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (workflow_id, date)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_analytics_date ON workflow_analytics (date);

-- Who was seen on which day, so unique visitors count once per day.
CREATE TABLE workflow_analytics_visitors (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    date        TEXT NOT NULL,
    visitor     TEXT NOT NULL,
    PRIMARY KEY (workflow_id, date, visitor)
) WITHOUT ROWID;

CREATE TABLE workflow_favorites (
    user_id     TEXT NOT NULL,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    note        TEXT,
    tags        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, workflow_id)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_favorites_workflow ON workflow_favorites (workflow_id);
CREATE INDEX idx_workflow_favorites_user_time ON workflow_favorites (user_id, created_at DESC);

-- The seed's views. The service computes standing with its grace policy;
-- these are for reporting straight from SQL.
CREATE VIEW active_memberships AS
SELECT m.*,
       CASE
           WHEN m.status = 'trialing' THEN 'trial'
           WHEN m.status = 'past_due' THEN 'grace'
           WHEN m.cancel_at_period_end = 1 THEN 'ending'
           ELSE 'active'
       END AS computed_status,
       CAST(julianday(m.current_period_end) - julianday('now') AS INTEGER) AS days_remaining
FROM memberships m
WHERE m.status IN ('trialing', 'active', 'past_due')
  AND m.current_period_end > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');

CREATE VIEW workflow_stats AS
SELECT w.id, w.slug, w.title, w.status, w.pricing_tier, w.category_id,
       c.name AS category_name,
       w.review_count, w.rating_sum,
       CASE WHEN w.review_count = 0 THEN NULL ELSE ROUND(CAST(w.rating_sum AS REAL) / w.review_count, 2) END AS rating,
       w.purchase_count AS total_purchases,
       COALESCE((SELECT SUM(a.revenue_minor - a.refunds_minor) FROM workflow_analytics a WHERE a.workflow_id = w.id), 0) AS total_revenue_minor,
       (SELECT a.currency FROM workflow_analytics a WHERE a.workflow_id = w.id AND a.currency IS NOT NULL ORDER BY a.date DESC LIMIT 1) AS currency,
       w.favorite_count, w.download_count, w.view_count
FROM workflows w
JOIN workflow_categories c ON c.id = w.category_id;
