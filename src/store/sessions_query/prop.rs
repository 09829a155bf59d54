//! Property tests of the message-search text handling (issue #12): the web-search → FTS5
//! translation and the snippet renderer read whatever users type and store. Any input gives
//! well-formed FTS5 (quoted phrases and operators only) that keeps the user's words, and
//! snippets carry no markup but `<b>`/`</b>` and unescape back to the text.

use proptest::prelude::*;

use super::{MARK_CLOSE, MARK_OPEN, fts5_query, render_snippet};

/// The words of `s`, as both the translation and FTS5's tokenizer see them.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Checks `q` is FTS5 made only of `(`, `)`, `AND`, `OR`, `NOT` and quoted phrases of words,
/// with balanced parentheses; returns the phrases' words in order.
fn phrases_of(q: &str) -> Result<Vec<String>, String> {
    let mut depth = 0i32;
    let mut out = Vec::new();
    let mut rest = q;
    while let Some(c) = rest.chars().next() {
        match c {
            ' ' => rest = &rest[1..],
            '(' => {
                depth += 1;
                rest = &rest[1..];
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ) in {q:?}"));
                }
                rest = &rest[1..];
            }
            '"' => {
                let end = rest[1..].find('"').ok_or(format!("open quote in {q:?}"))?;
                let phrase = &rest[1..1 + end];
                if phrase.is_empty() || phrase.chars().any(|c| !c.is_alphanumeric() && c != ' ') {
                    return Err(format!("phrase {phrase:?} in {q:?}"));
                }
                out.extend(phrase.split(' ').map(str::to_string));
                rest = &rest[end + 2..];
            }
            _ => {
                let op = ["AND ", "OR ", "NOT "]
                    .into_iter()
                    .find(|op| rest.starts_with(op))
                    .ok_or(format!("stray text at {rest:?} in {q:?}"))?;
                rest = &rest[op.len()..];
            }
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced ( in {q:?}"));
    }
    Ok(out)
}

/// Query text with the syntax's own characters mixed in.
fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9é]{1,6}",
        prop::sample::select(vec![
            " ", "\"", "-", "or", "OR", "AND", "NOT", "NEAR(", ")", "*", "^", ":", "'", "\t",
            "\u{0}", "ß", "日本",
        ])
        .prop_map(str::to_string),
        ".{0,3}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_query_becomes_well_formed_fts5(q in prop_oneof![query(), ".{0,40}"]) {
        if let Some(fts) = fts5_query(&q) {
            let found = phrases_of(&fts).map_err(TestCaseError::fail)?;
            // Nothing is invented: every word searched was typed.
            let typed = words(&q);
            for w in &found {
                prop_assert!(typed.contains(&w.as_str()), "{:?} not in {:?}", w, q);
            }
        }
    }

    #[test]
    fn plain_words_are_all_kept_in_order(
        q in "[a-zA-Z0-9é ,.!?;:/]{0,60}".prop_filter("no OR keyword", |q| {
            !q.split_whitespace().any(|t| t.eq_ignore_ascii_case("or"))
        })
    ) {
        let typed = words(&q);
        match fts5_query(&q) {
            None => prop_assert!(typed.is_empty()),
            Some(fts) => prop_assert_eq!(phrases_of(&fts).map_err(TestCaseError::fail)?, typed),
        }
    }

    #[test]
    fn snippets_hold_only_bold_markup_and_unescape_to_the_text(
        raw in prop::collection::vec(prop_oneof![
            ".{0,4}",
            Just(MARK_OPEN.to_string()),
            Just(MARK_CLOSE.to_string()),
            Just("<b>&amp;".to_string()),
        ], 0..12).prop_map(|p| p.concat())
    ) {
        let html = render_snippet(&raw);
        let bare = html.replace("<b>", "").replace("</b>", "");
        prop_assert!(!bare.contains(['<', '>', '"', '\'']), "{:?}", html);
        prop_assert_eq!(html.matches("<b>").count(), html.matches("</b>").count());
        let text: String = raw.chars().filter(|c| *c != MARK_OPEN && *c != MARK_CLOSE).collect();
        prop_assert_eq!(unescape(&bare), text);
    }
}

/// A long query (many words, many quotes and dashes) translates with output no larger than
/// a fixed multiple of the input: each word costs one quoted phrase and one operator.
#[test]
fn long_queries_translate_with_bounded_output() {
    for q in [
        "word ".repeat(20_000),
        "\"a -b ".repeat(10_000),
        "- or ".repeat(20_000),
    ] {
        let out = fts5_query(&q).unwrap_or_default();
        assert!(out.len() <= q.len() * 4 + 8, "{} → {}", q.len(), out.len());
    }
}
