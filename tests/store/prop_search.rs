//! Property tests of search against the real engines (issue #12): whatever a user types —
//! quotes, operators, NUL, any script — message search and memory search answer (possibly
//! nothing) instead of failing, on SQLite's FTS5 and on PostgreSQL's `tsquery`. The unit
//! properties of the translations live next to them (`store::sessions_query::prop`,
//! `memory::search::prop`); these check that the engines accept what comes out.

use astra::{memory::search::terms, store::ChunkSearch};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};

use crate::helpers::{TestStore, owner, say, session};

/// Query text with every engine's syntax characters mixed in.
fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9é]{1,6}",
        prop::sample::select(vec![
            " ", "\"", "-", "or", "OR", "AND", "NOT", "NEAR(", ")", "*", "^", ":", "'", "\\", "&",
            "|", "!", "<->", ":*", "\u{0}", "ß", "日本", "İ", "\u{307}",
        ])
        .prop_map(str::to_string),
        ".{0,3}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

/// `n` generated queries (a fixed seed: the same cases on every run and engine).
fn queries(n: usize) -> Vec<String> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = query();
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

#[tokio::test]
async fn no_typed_query_makes_a_search_fail() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    say(
        &db,
        &s,
        &[
            "the borrow checker",
            "日本 and ß and café",
            "or and not near",
        ],
    )
    .await;
    for q in queries(128) {
        db.sessions()
            .search_messages(&o.user_id, None, &q, 5)
            .await
            .unwrap_or_else(|e| panic!("message search {q:?}: {e}"));
        let words = terms(&q);
        let search = ChunkSearch {
            user_id: &o.user_id,
            workspace_id: &o.workspace_id,
            terms: &words,
            tiers: [true; 4],
            not_before: None,
            exclude_session: None,
            limit: 5,
        };
        db.memory()
            .search_memory_chunks(&search)
            .await
            .unwrap_or_else(|e| panic!("memory search {q:?} (terms {words:?}): {e}"));
    }
}
