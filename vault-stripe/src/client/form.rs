//! Stripe's form encoding: `application/x-www-form-urlencoded` with
//! bracketed keys for nesting.
//!
//! Stripe's v1 API takes nested parameters as flat keys:
//! `metadata[vault_purchase_id]=…`, `line_items[0][price_data][currency]=usd`,
//! `payment_method_types[0]=card`. `serde_urlencoded` cannot produce those,
//! so a [`Form`] is an ordered list of `(key, value)` pairs, built either
//! pair by pair or by flattening a [`serde_json::Value`] the way Stripe's
//! official libraries flatten their parameter dictionaries (objects become
//! `[key]`, arrays always become `[index]`, booleans `true`/`false`, nulls
//! are left out).
//!
//! Encoding and decoding are the WHATWG `application/x-www-form-urlencoded`
//! serializer and parser of the `form_urlencoded` crate (the one `url` is
//! built on; it wrote the same bytes as our loop in half the instructions): ASCII letters, digits and `*-._` stay as they are, a space
//! becomes `+`, every other byte of the UTF-8 text becomes `%XX`
//! (uppercase hex) — so `[`, `]`, `&`, `=` and `+` inside keys and values
//! are escaped and cannot break the pairs apart.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;

/// An ordered list of form pairs, encoded as Stripe expects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one pair (keys may repeat; order is kept).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.pairs.push((key.into(), value.into()));
        self
    }

    /// Appends one pair when `value` is `Some`.
    pub fn push_opt(
        &mut self,
        key: impl Into<String>,
        value: Option<impl Into<String>>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Appends `value` flattened under `prefix`: an object's members become
    /// `prefix[member]`, an array's items `prefix[i]`, recursively; strings
    /// go as they are, numbers in their JSON form, booleans as
    /// `true`/`false`; `null` is left out. An empty `prefix` with an object
    /// flattens its members as top-level keys.
    pub fn push_json(&mut self, prefix: &str, value: &Value) -> &mut Self {
        match value {
            Value::Null => {}
            Value::Bool(b) => {
                self.push(prefix, if *b { "true" } else { "false" });
            }
            Value::Number(n) => {
                self.push(prefix, n.to_string());
            }
            Value::String(s) => {
                self.push(prefix, s.as_str());
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.push_json(&format!("{prefix}[{i}]"), item);
                }
            }
            Value::Object(members) => {
                for (k, v) in members {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    self.push_json(&key, v);
                }
            }
        }
        self
    }

    /// A form from a JSON object's members (see [`Form::push_json`]).
    pub fn from_json(value: &Value) -> Self {
        let mut form = Self::new();
        form.push_json("", value);
        form
    }

    /// The pairs, in the order they were added.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of the first pair with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// The encoded body: `k=v&k=v`, each side percent-encoded.
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.pairs)
            .finish()
    }

    /// Parses an encoded body back into pairs, as the WHATWG parser does:
    /// `+` is a space, `%XX` a byte, a malformed `%` stays literal, a pair
    /// without `=` has an empty value, empty pairs are skipped. Bytes that
    /// are not UTF-8 become U+FFFD.
    pub fn decode(body: &str) -> Self {
        let pairs = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        Self { pairs }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Form {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Percent-encodes one key or value for a form body (space as `+`).
pub fn encode_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a path segment keeps as it is: RFC 3986's unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URL path segment (an object id): everything but
/// RFC 3986 unreserved characters, so an id can never add a path segment,
/// a query or a fragment.
pub(crate) fn encode_path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Decodes one form key or value (`+` is a space, `%XX` a byte).
pub fn decode_component(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_reserved_and_unicode() {
        let mut f = Form::new();
        f.push("metadata[note]", "a b&c=d[e]f+g%h/i?j#k~l*m");
        f.push("name", "Café ✓ 🚀");
        assert_eq!(
            f.encode(),
            "metadata%5Bnote%5D=a+b%26c%3Dd%5Be%5Df%2Bg%25h%2Fi%3Fj%23k%7El*m\
             &name=Caf%C3%A9+%E2%9C%93+%F0%9F%9A%80"
        );
    }

    #[test]
    fn keeps_unreserved_as_is() {
        assert_eq!(encode_component("AZaz09*-._"), "AZaz09*-._");
        assert_eq!(encode_component(""), "");
    }

    #[test]
    fn decode_inverts_encode() {
        let samples = [
            "",
            " ",
            "plain",
            "a b&c=d[e]f+g%h",
            "line_items[0][price_data][currency]",
            "Ünïcødé — 日本語 — 🚀",
            "%41%zz%",
            "\u{0}\u{7f}\r\n\t",
        ];
        let f: Form = samples.iter().map(|s| (*s, *s)).collect();
        assert_eq!(Form::decode(&f.encode()), f);
    }

    #[test]
    fn decode_is_lenient_like_whatwg() {
        let f = Form::decode("a=%41%zz%&b&&c=1=2&%E2%9C%93=%ff");
        let got: Vec<(&str, &str)> = f
            .pairs()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [("a", "A%zz%"), ("b", ""), ("c", "1=2"), ("✓", "\u{fffd}")]
        );
    }

    #[test]
    fn flattens_json_like_stripe_libraries() {
        let v = json!({
            "mode": "payment",
            "line_items": [{
                "price_data": {"currency": "usd", "unit_amount": 1999,
                               "product_data": {"name": "Ops & Co"}},
                "quantity": 1
            }],
            "payment_method_types": ["card", "link"],
            "metadata": {"vault_purchase_id": "p1"},
            "skip": null,
            "subscription_data": {"trial_period_days": 7, "flag": true, "off": false},
            "nested": [[1, 2]]
        });
        let f = Form::from_json(&v);
        let mut got: Vec<(String, String)> = f.pairs().to_vec();
        got.sort();
        let mut want: Vec<(String, String)> = [
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][product_data][name]", "Ops & Co"),
            ("line_items[0][price_data][unit_amount]", "1999"),
            ("line_items[0][quantity]", "1"),
            ("metadata[vault_purchase_id]", "p1"),
            ("mode", "payment"),
            ("nested[0][0]", "1"),
            ("nested[0][1]", "2"),
            ("payment_method_types[0]", "card"),
            ("payment_method_types[1]", "link"),
            ("subscription_data[flag]", "true"),
            ("subscription_data[off]", "false"),
            ("subscription_data[trial_period_days]", "7"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(
            Form::decode(&f.encode()).pairs(),
            f.pairs(),
            "round trip keeps the order"
        );
    }

    #[test]
    fn push_opt_and_get() {
        let mut f = Form::new();
        f.push_opt("a", None::<String>).push_opt("b", Some("x"));
        assert_eq!(f.len(), 1);
        assert_eq!(f.get("b"), Some("x"));
        assert_eq!(f.get("a"), None);
        assert!(!f.is_empty());
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("sub_123ABC"), "sub_123ABC");
        assert_eq!(
            encode_path_segment("../x?y#z/ é"),
            "..%2Fx%3Fy%23z%2F%20%C3%A9"
        );
    }
}
