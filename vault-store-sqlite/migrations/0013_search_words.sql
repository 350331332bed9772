-- A workflow's search words as vault-core splits them (`search_terms` of
-- its title, descriptions and each tag), each after a space, so a search
-- can match a row on its own (`instr(search_words, ' ' || term)` for each
-- term): what lets a search read the listing in order and stop after its
-- page instead of fetching every match of the word index. The full-text
-- rows are rewritten with the same words, so both agree with the core.
-- The store fills both for the rows already there, in this migration's
-- transaction (vault-store-sqlite's schema.rs).
ALTER TABLE workflows ADD COLUMN search_words TEXT NOT NULL DEFAULT '';
