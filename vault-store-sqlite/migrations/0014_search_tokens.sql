-- The full-text table again, with the `ascii` tokenizer. Its rows hold
-- vault-core's words separated by spaces (0013), and `unicode61` split
-- them once more where the core does not (combining marks such as
-- Devanagari vowel signs, which the core keeps inside a word; Greek final
-- sigma folded; circled letters dropped), so a search through the index
-- could answer otherwise than one through the window (`search_words`).
-- `ascii` splits only on ASCII characters that are not letters or digits,
-- which no core word holds: each word is one token, as in `search_words`.
-- The store fills it again in this migration's transaction.
DROP TABLE workflows_fts;
CREATE VIRTUAL TABLE workflows_fts USING fts5 (
    title, short_description, description, tags,
    tokenize = 'ascii'
);
