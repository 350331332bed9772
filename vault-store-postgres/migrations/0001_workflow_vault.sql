-- Workflow Vault, seed 000 in PostgreSQL terms.
--
-- Conventions:
--   ids        UUID
--   timestamps TIMESTAMPTZ (microsecond precision)
--   money      NUMERIC amount + TEXT ISO 4217 currency: exact, never float;
--              the scale is at most the currency's minor unit (<= 4)
--   flexible   JSONB (media, features, seo, metadata, ...), GIN-indexed where
--              apps query into them
--   tags       TEXT[] with a GIN index ("has every tag" is `tags @> $1`)
--   enums      TEXT with a CHECK listing every value vault-core knows
--
-- The counters the seed kept with triggers (download, favorite, purchase and
-- view counts, rating aggregates, category counts, daily analytics) are
-- maintained by vault-store-postgres in the same transaction as the change
-- that moves them, by delta under row locks, so they stay exact at READ
-- COMMITTED without triggers. Apps that write these tables directly must do
-- the same.

-- ------------------------------------------------------------- categories

CREATE TABLE workflow_categories (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    slug            TEXT NOT NULL UNIQUE
                    CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    name            TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description     TEXT NOT NULL DEFAULT '',
    icon            TEXT NOT NULL DEFAULT '',
    color           TEXT NOT NULL DEFAULT '',
    order_index     INTEGER NOT NULL DEFAULT 0,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    workflow_count  BIGINT NOT NULL DEFAULT 0 CHECK (workflow_count >= 0),
    total_downloads BIGINT NOT NULL DEFAULT 0 CHECK (total_downloads >= 0),
    metadata        JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_workflow_categories_order ON workflow_categories (order_index, slug);
CREATE INDEX idx_workflow_categories_metadata ON workflow_categories USING GIN (metadata jsonb_path_ops);

-- ------------------------------------------------------------- workflows

CREATE TABLE workflows (
    id                  UUID PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE
                        CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    title               TEXT NOT NULL,
    short_description   TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    category_id         UUID NOT NULL REFERENCES workflow_categories (id),
    -- W.E.D.G.E.
    wedge_score         NUMERIC(3, 1) NOT NULL DEFAULT 0 CHECK (wedge_score BETWEEN 0 AND 10),
    workflow_complexity TEXT NOT NULL DEFAULT 'beginner'
                        CHECK (workflow_complexity IN ('beginner', 'intermediate', 'advanced', 'expert')),
    efficiency_rating   NUMERIC(3, 1) NOT NULL DEFAULT 0 CHECK (efficiency_rating BETWEEN 0 AND 10),
    digital_maturity    TEXT NOT NULL DEFAULT 'foundational'
                        CHECK (digital_maturity IN ('foundational', 'developing', 'established', 'advanced', 'cutting_edge')),
    growth_potential    TEXT NOT NULL DEFAULT 'low'
                        CHECK (growth_potential IN ('low', 'moderate', 'high', 'exponential')),
    excellence_tier     TEXT NOT NULL DEFAULT 'standard'
                        CHECK (excellence_tier IN ('standard', 'professional', 'elite', 'legendary')),
    -- pricing
    pricing_tier        TEXT NOT NULL CHECK (pricing_tier IN ('free', 'basic', 'pro', 'premium', 'enterprise')),
    price               NUMERIC CHECK (price >= 0 AND scale(price) <= 4),
    currency            TEXT CHECK (currency ~ '^[A-Z]{3}$'),
    -- content
    media               JSONB NOT NULL DEFAULT '{}'::jsonb,
    features            JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(features) = 'array'),
    requirements        JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(requirements) = 'array'),
    includes            JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(includes) = 'array'),
    tags                TEXT[] NOT NULL DEFAULT '{}',
    seo                 JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- Full-text search: the lexemes of title, short description, description
    -- and tags, exactly as vault_core::query::search_terms splits and
    -- lowercases them (written by the store with array_to_tsvector; no
    -- stemming, no stop words). Queried with prefix matching:
    -- search_vector @@ to_tsquery('simple', '''word'':* & ''other'':*').
    search_vector       TSVECTOR NOT NULL DEFAULT ''::tsvector,
    update_months       BIGINT CHECK (update_months > 0),
    download_limit      BIGINT CHECK (download_limit > 0),
    status              TEXT NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'published', 'archived', 'coming_soon')),
    current_version     TEXT CHECK (current_version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    -- counters
    download_count      BIGINT NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    favorite_count      BIGINT NOT NULL DEFAULT 0 CHECK (favorite_count >= 0),
    view_count          BIGINT NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    purchase_count      BIGINT NOT NULL DEFAULT 0 CHECK (purchase_count >= 0),
    -- rating aggregate of approved reviews: per-star counts and per-dimension
    -- totals, moved by delta; everything else is derived from them
    stars_1 BIGINT NOT NULL DEFAULT 0 CHECK (stars_1 >= 0),
    stars_2 BIGINT NOT NULL DEFAULT 0 CHECK (stars_2 >= 0),
    stars_3 BIGINT NOT NULL DEFAULT 0 CHECK (stars_3 >= 0),
    stars_4 BIGINT NOT NULL DEFAULT 0 CHECK (stars_4 >= 0),
    stars_5 BIGINT NOT NULL DEFAULT 0 CHECK (stars_5 >= 0),
    dim_complexity_count BIGINT NOT NULL DEFAULT 0 CHECK (dim_complexity_count >= 0),
    dim_complexity_sum   BIGINT NOT NULL DEFAULT 0 CHECK (dim_complexity_sum >= 0),
    dim_efficiency_count BIGINT NOT NULL DEFAULT 0 CHECK (dim_efficiency_count >= 0),
    dim_efficiency_sum   BIGINT NOT NULL DEFAULT 0 CHECK (dim_efficiency_sum >= 0),
    dim_maturity_count   BIGINT NOT NULL DEFAULT 0 CHECK (dim_maturity_count >= 0),
    dim_maturity_sum     BIGINT NOT NULL DEFAULT 0 CHECK (dim_maturity_sum >= 0),
    dim_growth_count     BIGINT NOT NULL DEFAULT 0 CHECK (dim_growth_count >= 0),
    dim_growth_sum       BIGINT NOT NULL DEFAULT 0 CHECK (dim_growth_sum >= 0),
    dim_excellence_count BIGINT NOT NULL DEFAULT 0 CHECK (dim_excellence_count >= 0),
    dim_excellence_sum   BIGINT NOT NULL DEFAULT 0 CHECK (dim_excellence_sum >= 0),
    review_count BIGINT GENERATED ALWAYS AS (stars_1 + stars_2 + stars_3 + stars_4 + stars_5) STORED,
    rating_sum   BIGINT GENERATED ALWAYS AS (stars_1 + 2 * stars_2 + 3 * stars_3 + 4 * stars_4 + 5 * stars_5) STORED,
    -- The exact average to 40 places (NULL without reviews): distinct
    -- averages of up to 10^18 reviews never round together, equal ones are
    -- equal, so ordering by it is ordering by the exact fraction.
    rating_avg   NUMERIC GENERATED ALWAYS AS (
        CASE WHEN stars_1 + stars_2 + stars_3 + stars_4 + stars_5 = 0 THEN NULL
             ELSE (stars_1 + 2 * stars_2 + 3 * stars_3 + 4 * stars_4 + 5 * stars_5)::numeric(80, 40)
                  / (stars_1 + stars_2 + stars_3 + stars_4 + stars_5)
        END) STORED,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    archived_at  TIMESTAMPTZ,
    -- the listing's "newest" key
    newest_at    TIMESTAMPTZ GENERATED ALWAYS AS (COALESCE(published_at, created_at)) STORED,
    revision     BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0),
    CHECK ((price IS NULL) = (currency IS NULL)),
    CHECK (dim_complexity_count <= stars_1 + stars_2 + stars_3 + stars_4 + stars_5),
    CHECK (dim_efficiency_count <= stars_1 + stars_2 + stars_3 + stars_4 + stars_5),
    CHECK (dim_maturity_count <= stars_1 + stars_2 + stars_3 + stars_4 + stars_5),
    CHECK (dim_growth_count <= stars_1 + stars_2 + stars_3 + stars_4 + stars_5),
    CHECK (dim_excellence_count <= stars_1 + stars_2 + stars_3 + stars_4 + stars_5)
);
CREATE INDEX idx_workflows_category ON workflows (category_id, status);
CREATE INDEX idx_workflows_status_score ON workflows (status, wedge_score DESC, id);
CREATE INDEX idx_workflows_status_downloads ON workflows (status, download_count DESC, id);
CREATE INDEX idx_workflows_status_newest ON workflows (status, newest_at DESC, id);
CREATE INDEX idx_workflows_status_rating ON workflows (status, rating_avg DESC NULLS LAST, id);
CREATE INDEX idx_workflows_tier ON workflows (pricing_tier, status);
CREATE INDEX idx_workflows_price ON workflows (currency, price);
CREATE INDEX idx_workflows_tags ON workflows USING GIN (tags);
CREATE INDEX idx_workflows_search ON workflows USING GIN (search_vector);
CREATE INDEX idx_workflows_features ON workflows USING GIN (features jsonb_path_ops);
CREATE INDEX idx_workflows_requirements ON workflows USING GIN (requirements jsonb_path_ops);
CREATE INDEX idx_workflows_includes ON workflows USING GIN (includes jsonb_path_ops);
CREATE INDEX idx_workflows_seo ON workflows USING GIN (seo jsonb_path_ops);

-- ------------------------------------------------------------------ files

CREATE TABLE workflow_files (
    id             UUID PRIMARY KEY,
    workflow_id    UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    file_type      TEXT NOT NULL CHECK (file_type IN ('make', 'n8n', 'zapier', 'json', 'pdf', 'zip', 'video', 'other')),
    file_name      TEXT NOT NULL,
    storage_key    TEXT NOT NULL,
    mime_type      TEXT NOT NULL,
    version        TEXT NOT NULL CHECK (version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    version_major  BIGINT NOT NULL CHECK (version_major >= 0),
    version_minor  BIGINT NOT NULL CHECK (version_minor >= 0),
    version_patch  BIGINT NOT NULL CHECK (version_patch >= 0),
    is_primary     BOOLEAN NOT NULL DEFAULT FALSE,
    -- {"level": "public" | "standard" | "owners_only"} or
    -- {"level": "minimum_tier", "tier": "..."}
    access         JSONB NOT NULL DEFAULT '{"level": "standard"}'::jsonb
                   CHECK (access ->> 'level' IN ('public', 'standard', 'minimum_tier', 'owners_only')),
    size_bytes     BIGINT NOT NULL CHECK (size_bytes >= 0),
    checksum       TEXT NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    download_count BIGINT NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_workflow_files_workflow ON workflow_files
    (workflow_id, is_primary DESC, version_major DESC, version_minor DESC, version_patch DESC, id);
CREATE UNIQUE INDEX idx_workflow_files_one_primary ON workflow_files (workflow_id) WHERE is_primary;

-- ---------------------------------------------------------------- updates

CREATE TABLE workflow_updates (
    id             UUID PRIMARY KEY,
    workflow_id    UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version        TEXT NOT NULL CHECK (version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    version_major  BIGINT NOT NULL CHECK (version_major >= 0),
    version_minor  BIGINT NOT NULL CHECK (version_minor >= 0),
    version_patch  BIGINT NOT NULL CHECK (version_patch >= 0),
    changelog      JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(changelog) = 'array'),
    files_added    JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(files_added) = 'array'),
    files_modified JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(files_modified) = 'array'),
    files_removed  JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(files_removed) = 'array'),
    release_notes  TEXT NOT NULL DEFAULT '',
    is_major       BOOLEAN NOT NULL DEFAULT FALSE,
    released_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, version)
);
CREATE INDEX idx_workflow_updates_order ON workflow_updates (workflow_id, version_major, version_minor, version_patch);
CREATE INDEX idx_workflow_updates_changelog ON workflow_updates USING GIN (changelog jsonb_path_ops);

-- ---------------------------------------------------------------- bundles

CREATE TABLE workflow_bundles (
    id             UUID PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE
                   CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 100),
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    -- the members in display order (the seed's array); workflow_bundle_items
    -- holds the same set with foreign keys
    workflow_ids   UUID[] NOT NULL,
    currency       TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    price          NUMERIC NOT NULL CHECK (price >= 0 AND scale(price) <= 4),
    original_price NUMERIC NOT NULL CHECK (original_price >= price AND scale(original_price) <= 4),
    savings        NUMERIC GENERATED ALWAYS AS (original_price - price) STORED,
    valid_from     TIMESTAMPTZ,
    valid_until    TIMESTAMPTZ,
    seo            JSONB NOT NULL DEFAULT '{}'::jsonb,
    is_active      BOOLEAN NOT NULL DEFAULT TRUE,
    purchase_count BIGINT NOT NULL DEFAULT 0 CHECK (purchase_count >= 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from)
);
CREATE INDEX idx_workflow_bundles_members ON workflow_bundles USING GIN (workflow_ids);
CREATE INDEX idx_workflow_bundles_active ON workflow_bundles (is_active, valid_from, valid_until);

CREATE TABLE workflow_bundle_items (
    bundle_id   UUID NOT NULL REFERENCES workflow_bundles (id) ON DELETE CASCADE,
    workflow_id UUID NOT NULL REFERENCES workflows (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (bundle_id, workflow_id)
);
CREATE INDEX idx_workflow_bundle_items_workflow ON workflow_bundle_items (workflow_id);

-- ------------------------------------------------------------ memberships

CREATE TABLE memberships (
    id                     UUID PRIMARY KEY,
    user_id                TEXT NOT NULL,
    tier                   TEXT NOT NULL CHECK (tier IN ('basic', 'pro', 'premium', 'enterprise')),
    status                 TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
    trial_ends_at          TIMESTAMPTZ,
    current_period_start   TIMESTAMPTZ NOT NULL,
    current_period_end     TIMESTAMPTZ NOT NULL,
    period_download_limit  BIGINT CHECK (period_download_limit > 0),
    period_downloads_used  BIGINT NOT NULL DEFAULT 0 CHECK (period_downloads_used >= 0),
    cancel_at_period_end   BOOLEAN NOT NULL DEFAULT FALSE,
    past_due_since         TIMESTAMPTZ,
    canceled_at            TIMESTAMPTZ,
    ended_at               TIMESTAMPTZ,
    features               JSONB NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(features) = 'object'),
    enrolled_at            TIMESTAMPTZ NOT NULL,
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT,
    stripe_price_id        TEXT,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    revision               BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0),
    CHECK (current_period_end > current_period_start)
);
CREATE INDEX idx_memberships_user ON memberships (user_id, created_at DESC, id);
CREATE INDEX idx_memberships_status ON memberships (status, id);
CREATE INDEX idx_memberships_period_end ON memberships (current_period_end) WHERE status IN ('trialing', 'active', 'past_due');
CREATE INDEX idx_memberships_subscription ON memberships (stripe_subscription_id, created_at DESC) WHERE stripe_subscription_id IS NOT NULL;
CREATE INDEX idx_memberships_features ON memberships USING GIN (features jsonb_path_ops);

-- -------------------------------------------------------------- purchases

CREATE TABLE workflow_purchases (
    id                         UUID PRIMARY KEY,
    user_id                    TEXT NOT NULL,
    purchase_type              TEXT NOT NULL CHECK (purchase_type IN ('one_time', 'bundle', 'membership_included')),
    workflow_id                UUID REFERENCES workflows (id),
    bundle_id                  UUID REFERENCES workflow_bundles (id),
    membership_id              UUID REFERENCES memberships (id),
    -- the workflows granted, in order (a bundle's members at purchase time);
    -- workflow_purchase_items holds the same set with foreign keys
    item_workflows             UUID[] NOT NULL,
    license_type               TEXT NOT NULL CHECK (license_type IN ('personal', 'team', 'commercial', 'enterprise')),
    license_key                TEXT NOT NULL UNIQUE,
    download_limit             BIGINT CHECK (download_limit > 0),
    downloads_used             BIGINT NOT NULL DEFAULT 0 CHECK (downloads_used >= 0),
    license_expires_at         TIMESTAMPTZ,
    update_months              BIGINT CHECK (update_months > 0),
    updates_until              TIMESTAMPTZ,
    payment_status             TEXT NOT NULL CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded', 'partially_refunded', 'disputed')),
    currency                   TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount                     NUMERIC NOT NULL CHECK (amount >= 0 AND scale(amount) <= 4),
    tax                        NUMERIC NOT NULL CHECK (tax >= 0 AND scale(tax) <= 4),
    total                      NUMERIC NOT NULL CHECK (scale(total) <= 4),
    refunded_amount            NUMERIC CHECK (refunded_amount >= 0 AND refunded_amount <= total AND scale(refunded_amount) <= 4),
    refund_reason              TEXT,
    refunded_at                TIMESTAMPTZ,
    payment_ref                TEXT UNIQUE,
    stripe_customer_id         TEXT,
    stripe_checkout_session_id TEXT,
    stripe_payment_intent_id   TEXT,
    stripe_subscription_id     TEXT,
    stripe_price_id            TEXT,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at               TIMESTAMPTZ,
    disputed_at                TIMESTAMPTZ,
    updated_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (total = amount + tax),
    CHECK ((refunded_amount IS NULL) = (refunded_at IS NULL)),
    CHECK (purchase_type <> 'one_time' OR (workflow_id IS NOT NULL AND bundle_id IS NULL AND membership_id IS NULL)),
    CHECK (purchase_type <> 'bundle' OR (bundle_id IS NOT NULL AND workflow_id IS NULL AND membership_id IS NULL)),
    CHECK (purchase_type <> 'membership_included' OR (workflow_id IS NOT NULL AND membership_id IS NOT NULL AND bundle_id IS NULL))
);
CREATE INDEX idx_workflow_purchases_user ON workflow_purchases (user_id, created_at DESC, id);
CREATE INDEX idx_workflow_purchases_workflow ON workflow_purchases (workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX idx_workflow_purchases_bundle ON workflow_purchases (bundle_id) WHERE bundle_id IS NOT NULL;
CREATE INDEX idx_workflow_purchases_membership ON workflow_purchases (membership_id) WHERE membership_id IS NOT NULL;
CREATE INDEX idx_workflow_purchases_status ON workflow_purchases (payment_status);
CREATE INDEX idx_workflow_purchases_items ON workflow_purchases USING GIN (item_workflows);
CREATE INDEX idx_workflow_purchases_checkout ON workflow_purchases (stripe_checkout_session_id) WHERE stripe_checkout_session_id IS NOT NULL;

CREATE TABLE workflow_purchase_items (
    purchase_id UUID NOT NULL REFERENCES workflow_purchases (id) ON DELETE CASCADE,
    workflow_id UUID NOT NULL REFERENCES workflows (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (purchase_id, workflow_id)
);
CREATE INDEX idx_workflow_purchase_items_workflow ON workflow_purchase_items (workflow_id, purchase_id);

-- -------------------------------------------------------------- downloads

CREATE TABLE workflow_downloads (
    id            UUID PRIMARY KEY,
    user_id       TEXT,
    workflow_id   UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    file_id       UUID NOT NULL REFERENCES workflow_files (id) ON DELETE CASCADE,
    file_version  TEXT NOT NULL CHECK (file_version ~ '^[0-9]+\.[0-9]+\.[0-9]+$'),
    download_type TEXT NOT NULL CHECK (download_type IN ('free', 'purchased', 'membership', 'trial')),
    source        TEXT NOT NULL CHECK (source IN ('free', 'purchase', 'membership', 'staff')),
    purchase_id   UUID REFERENCES workflow_purchases (id),
    membership_id UUID REFERENCES memberships (id),
    ip_hash       TEXT,
    user_agent    TEXT,
    referrer      TEXT,
    country_code  TEXT CHECK (country_code ~ '^[A-Z]{2}$'),
    downloaded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((source = 'purchase') = (purchase_id IS NOT NULL)),
    CHECK ((source = 'membership') = (membership_id IS NOT NULL))
);
CREATE INDEX idx_workflow_downloads_user ON workflow_downloads (user_id, downloaded_at DESC, id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_workflow_downloads_user_workflow ON workflow_downloads (user_id, workflow_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_workflow_downloads_workflow ON workflow_downloads (workflow_id, downloaded_at DESC, id);
CREATE INDEX idx_workflow_downloads_file ON workflow_downloads (file_id);
CREATE INDEX idx_workflow_downloads_purchase ON workflow_downloads (purchase_id) WHERE purchase_id IS NOT NULL;
CREATE INDEX idx_workflow_downloads_membership ON workflow_downloads (membership_id) WHERE membership_id IS NOT NULL;

-- ---------------------------------------------------------------- reviews

CREATE TABLE workflow_reviews (
    id                   UUID PRIMARY KEY,
    workflow_id          UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL,
    rating               SMALLINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rating_complexity    SMALLINT CHECK (rating_complexity BETWEEN 1 AND 5),
    rating_efficiency    SMALLINT CHECK (rating_efficiency BETWEEN 1 AND 5),
    rating_maturity      SMALLINT CHECK (rating_maturity BETWEEN 1 AND 5),
    rating_growth        SMALLINT CHECK (rating_growth BETWEEN 1 AND 5),
    rating_excellence    SMALLINT CHECK (rating_excellence BETWEEN 1 AND 5),
    title                TEXT NOT NULL,
    body                 TEXT NOT NULL DEFAULT '',
    is_verified_purchase BOOLEAN NOT NULL DEFAULT FALSE,
    helpful_count        BIGINT NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
    not_helpful_count    BIGINT NOT NULL DEFAULT 0 CHECK (not_helpful_count >= 0),
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'flagged')),
    moderated_by         TEXT,
    moderated_at         TIMESTAMPTZ,
    moderation_note      TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    revision             BIGINT NOT NULL DEFAULT 0 CHECK (revision >= 0),
    UNIQUE (workflow_id, user_id)
);
CREATE INDEX idx_workflow_reviews_workflow_status ON workflow_reviews (workflow_id, status, id);
CREATE INDEX idx_workflow_reviews_user ON workflow_reviews (user_id);

CREATE TABLE workflow_review_votes (
    review_id UUID NOT NULL REFERENCES workflow_reviews (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    vote      TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')),
    PRIMARY KEY (review_id, user_id)
);
CREATE INDEX idx_workflow_review_votes_user ON workflow_review_votes (user_id);

-- -------------------------------------------------------------- analytics

CREATE TABLE workflow_analytics (
    workflow_id     UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    date            DATE NOT NULL,
    views           BIGINT NOT NULL DEFAULT 0 CHECK (views >= 0),
    unique_visitors BIGINT NOT NULL DEFAULT 0 CHECK (unique_visitors >= 0),
    clicks          BIGINT NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    downloads       BIGINT NOT NULL DEFAULT 0 CHECK (downloads >= 0),
    purchases       BIGINT NOT NULL DEFAULT 0 CHECK (purchases >= 0),
    revenue         NUMERIC NOT NULL DEFAULT 0,
    refunds         NUMERIC NOT NULL DEFAULT 0,
    currency        TEXT CHECK (currency ~ '^[A-Z]{3}$'),
    favorites       BIGINT NOT NULL DEFAULT 0 CHECK (favorites >= 0),
    shares          BIGINT NOT NULL DEFAULT 0 CHECK (shares >= 0),
    reviews         BIGINT NOT NULL DEFAULT 0 CHECK (reviews >= 0),
    -- {"google.com": 2, "direct": 1}; {"US": 3}. Reporting only, rewritten on
    -- every view, so not GIN-indexed (a GIN index here would be pure write cost).
    traffic_sources JSONB NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(traffic_sources) = 'object'),
    countries       JSONB NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(countries) = 'object'),
    PRIMARY KEY (workflow_id, date)
);
CREATE INDEX idx_workflow_analytics_date ON workflow_analytics (date);

-- Who was seen on which day, so unique visitors count once per day.
CREATE TABLE workflow_analytics_visitors (
    workflow_id UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    date        DATE NOT NULL,
    visitor     TEXT NOT NULL,
    PRIMARY KEY (workflow_id, date, visitor)
);

-- -------------------------------------------------------------- favorites

CREATE TABLE workflow_favorites (
    user_id     TEXT NOT NULL,
    workflow_id UUID NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    note        TEXT,
    tags        TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, workflow_id)
);
CREATE INDEX idx_workflow_favorites_workflow ON workflow_favorites (workflow_id);
CREATE INDEX idx_workflow_favorites_user_time ON workflow_favorites (user_id, created_at DESC, workflow_id);
CREATE INDEX idx_workflow_favorites_tags ON workflow_favorites USING GIN (tags);

-- ------------------------------------------------------------------ views
-- The seed's reporting views. The service computes membership standing with
-- its own grace policy; these are for reporting straight from SQL.

CREATE VIEW active_memberships AS
SELECT m.*,
       CASE
           WHEN m.status = 'trialing' THEN 'trial'
           WHEN m.status = 'past_due' THEN 'grace'
           WHEN m.cancel_at_period_end THEN 'ending'
           ELSE 'active'
       END AS computed_status,
       floor(EXTRACT(EPOCH FROM m.current_period_end - now()) / 86400)::integer AS days_remaining,
       CASE WHEN m.period_download_limit IS NULL THEN NULL
            ELSE GREATEST(m.period_download_limit - m.period_downloads_used, 0) END AS downloads_remaining
FROM memberships m
WHERE m.status IN ('trialing', 'active', 'past_due')
  AND m.current_period_end > now();

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
       w.favorite_count, w.download_count, w.view_count
FROM workflows w
JOIN workflow_categories c ON c.id = w.category_id;

-- ------------------------------------------------------------- seed data
-- The nine core business systems (vault_core::category::CORE_SYSTEMS), so a
-- fresh database lists them at once; Vault::seed_core_categories finds them
-- by slug and adds nothing.

INSERT INTO workflow_categories (slug, name, icon, color, description, order_index) VALUES
    ('client-acquisition',   'Client Acquisition System',   '🎯', 'blue',   'Attract and capture leads, qualify them and book calls.', 1),
    ('client-onboarding',    'Client Onboarding System',    '🚀', 'green',  'Welcome new clients: contracts, intake forms, kickoff.', 2),
    ('project-delivery',     'Project Delivery System',     '⚡', 'orange', 'Plan, track and deliver client work on time.', 3),
    ('client-communication', 'Client Communication System', '💬', 'purple', 'Keep clients informed with updates, reminders and reports.', 4),
    ('invoicing-payment',    'Invoicing & Payment System',  '💰', 'cyan',   'Invoice, collect, reconcile and chase payments.', 5),
    ('content-marketing',    'Content Marketing System',    '📢', 'pink',   'Create, schedule and repurpose content across channels.', 6),
    ('analytics-reporting',  'Analytics & Reporting System', '📊', 'teal',  'Collect metrics and turn them into dashboards and reports.', 7),
    ('operations-admin',     'Operations & Admin System',   '⚙️', 'indigo', 'Automate the back office: files, HR, tools and admin.', 8),
    ('growth-scaling',       'Growth & Scaling System',     '📈', 'red',    'Systemise, delegate and scale the business.', 9);
