//! Message search: FTS5 + `bm25` on SQLite, a GIN `tsvector` + `ts_rank` on PostgreSQL, one
//! web-search syntax on both. Best match first, the same matches on both engines, and no
//! user input is ever read as query syntax.

use crate::helpers::{TestStore, owner, say, session};

/// Message ids of a search, best first, and the match count.
async fn ids(db: &TestStore, user: &str, q: &str) -> (Vec<String>, i64) {
    let (hits, total) = db
        .sessions()
        .search_messages(user, None, q, 20)
        .await
        .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"));
    (hits.into_iter().map(|h| h.message_id).collect(), total)
}

#[tokio::test]
async fn best_match_first_and_counted() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let m = say(
        &db,
        &s,
        &[
            "rust once, among many other words about gardening and the weather today",
            "rust rust rust: the borrow checker",
            "python only",
        ],
    )
    .await;
    let (found, total) = ids(&db, &o.user_id, "rust").await;
    assert_eq!(found, vec![m[1].clone(), m[0].clone()]);
    assert_eq!(total, 2);

    let (hits, _) = db
        .sessions()
        .search_messages(&o.user_id, None, "rust", 1)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "the limit applies, the count does not");
    assert!(hits[0].score > 0.0, "higher is better on both engines");
    assert_eq!(hits[0].session_id, s);
    assert_eq!(hits[0].agent_id, "chad");
    assert_eq!(hits[0].workspace_id, o.workspace_id);
}

#[tokio::test]
async fn web_search_syntax_means_the_same_on_both_engines() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let m = say(
        &db,
        &s,
        &[
            "the borrow checker rejects this",
            "checker of borrow requests",
            "python and rust together",
            "deploying gpt-4o behind the gateway",
        ],
    )
    .await;
    let cases: [(&str, Vec<&String>); 6] = [
        // All words are required, in any order.
        ("borrow checker", vec![&m[0], &m[1]]),
        // A quoted phrase keeps its order.
        ("\"borrow checker\"", vec![&m[0]]),
        // `-` excludes.
        ("rust -python", vec![]),
        ("borrow -requests", vec![&m[0]]),
        // `or` joins alternatives.
        ("requests or python", vec![&m[1], &m[2]]),
        // A hyphenated word is found as written.
        ("gpt-4o", vec![&m[3]]),
    ];
    for (q, want) in cases {
        let (mut found, total) = ids(&db, &o.user_id, q).await;
        found.sort();
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        want.sort();
        assert_eq!(found, want, "query {q:?}");
        assert_eq!(total, want.len() as i64, "count of {q:?}");
    }
}

#[tokio::test]
async fn query_syntax_in_user_input_never_errors() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let m = say(&db, &s, &["near content: star * and quote \" here"]).await;
    let hostile = [
        "\"",
        "\"\"",
        "\"unbalanced",
        "*",
        "star*",
        "**",
        "NEAR",
        "NEAR(near content, 2)",
        "near content",
        "-",
        "--",
        "- -x",
        ":",
        "content:near",
        "column:",
        "(",
        ")",
        "(near OR",
        "AND",
        "OR",
        "NOT near",
        "near AND NOT",
        "^near",
        "'",
        "a'b",
        "{near content}",
        "near + star",
        "\\",
        "%_",
        "!&|<->",
        "",
        "   ",
        "über naïve 東京",
    ];
    for q in hostile {
        ids(&db, &o.user_id, q).await;
    }
    // Syntax characters only separate words; the words around them still match.
    let (found, _) = ids(&db, &o.user_id, "near:content").await;
    assert_eq!(found, vec![m[0].clone()]);
    let (found, _) = ids(&db, &o.user_id, "star* \"quote\"").await;
    assert_eq!(found, vec![m[0].clone()]);
}

#[tokio::test]
async fn snippets_mark_matches_and_escape_the_rest() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    say(&db, &s, &["<script>alert(1)</script> & the needle is here"]).await;
    let (hits, _) = db
        .sessions()
        .search_messages(&o.user_id, None, "needle", 5)
        .await
        .unwrap();
    let snippet = &hits[0].snippet;
    assert!(snippet.contains("<b>needle</b>"), "{snippet}");
    assert!(!snippet.contains("<script>"), "{snippet}");
    assert!(
        snippet.contains("&lt;script&gt;") || !snippet.contains("script"),
        "{snippet}"
    );
    assert_eq!(
        hits[0].content,
        "<script>alert(1)</script> & the needle is here"
    );
}

#[tokio::test]
async fn search_is_scoped_to_the_user_and_workspace() {
    let db = TestStore::new().await;
    let a = owner(&db).await;
    let b = owner(&db).await;
    let sa = session(&db, &a, "chad").await;
    let sb = session(&db, &b, "chad").await;
    let ma = say(&db, &sa, &["shared secret word"]).await;
    say(&db, &sb, &["shared secret word"]).await;
    assert_eq!(ids(&db, &a.user_id, "secret").await, (ma.clone(), 1));
    let (hits, total) = db
        .sessions()
        .search_messages(&a.user_id, Some(&b.workspace_id), "secret", 5)
        .await
        .unwrap();
    assert!(hits.is_empty());
    assert_eq!(total, 0);
    let (hits, _) = db
        .sessions()
        .search_messages(&a.user_id, Some(&a.workspace_id), "secret", 5)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn edited_and_deleted_messages_leave_the_index() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let m = say(&db, &s, &["original wording", "to be removed"]).await;
    // No route edits or deletes single messages; the triggers must still cover it (a
    // retention job or an operator may), so the rows are changed directly.
    astra::with_pool!(db.pool(), p => {
        sqlx::query("UPDATE messages SET content = 'revised wording' WHERE id = $1")
            .bind(&m[0]).execute(p).await.unwrap();
        sqlx::query("DELETE FROM messages WHERE id = $1")
            .bind(&m[1]).execute(p).await.unwrap();
    });
    assert_eq!(ids(&db, &o.user_id, "original").await.1, 0);
    assert_eq!(
        ids(&db, &o.user_id, "revised").await,
        (vec![m[0].clone()], 1)
    );
    assert_eq!(ids(&db, &o.user_id, "removed").await.1, 0);
}
