//! The search vocabulary both sides of a match share: a workflow's
//! lexemes as it is written, and a query's prefix tsquery, each from
//! vault-core's own search terms.

use std::collections::BTreeSet;

use vault_core::catalog::query::search_terms;
use vault_core::catalog::workflow::{Tag, WorkflowContent};

/// The largest lexeme PostgreSQL keeps is 2047 bytes; longer words are cut
/// (a query word is at most 200 characters, so prefix matches are unchanged).
pub(super) fn lexeme(mut word: String) -> String {
    const MAX: usize = 2046;
    if word.len() > MAX {
        let mut end = MAX;
        while !word.is_char_boundary(end) {
            end -= 1;
        }
        word.truncate(end);
    }
    word
}

/// The search lexemes of a workflow: every word of its title, descriptions
/// and tags as [`search_terms`] gives them (so both sides of the match use
/// the core's tokenizer).
pub(super) fn search_lexemes(c: &WorkflowContent) -> Vec<String> {
    let fields = [
        c.title.as_str(),
        c.short_description.as_str(),
        c.description.as_str(),
    ];
    let words: BTreeSet<String> = fields
        .into_iter()
        .chain(c.tags.iter().map(Tag::as_str))
        .flat_map(search_terms)
        .map(lexeme)
        .collect();
    words.into_iter().collect()
}

/// The prefix query for `text`: `'w1':* & 'w2':*` (terms are letters and
/// digits only, so quoting them is safe). `None` when it has no word.
pub(super) fn tsquery(text: &str) -> Option<String> {
    let terms: Vec<String> = search_terms(text)
        .into_iter()
        .map(|t| format!("'{}':*", lexeme(t)))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsquery_quotes_prefix_terms() {
        assert_eq!(
            tsquery("INVOICE remind").as_deref(),
            Some("'invoice':* & 'remind':*")
        );
        assert_eq!(tsquery(" -- ").as_deref(), None);
    }

    #[test]
    fn long_lexemes_are_cut_on_a_char_boundary() {
        let w = "é".repeat(2000);
        let cut = lexeme(w);
        assert!(cut.len() <= 2046);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
