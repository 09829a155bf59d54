//! Queries behind the sessions routes: a user's sessions, full-text search over their
//! messages (FTS5 on SQLite, a `tsvector` GIN index on PostgreSQL) and agent handoff.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{
    BeginWrite, MessageRow, Pool, SessionRow,
    sessions::{SESSION_COLUMNS, Sessions},
};
use crate::with_pool;

/// Which of a user's sessions to list.
#[derive(Debug, Clone, Copy)]
pub struct SessionFilter<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// Only this workspace (all of the user's when `None`).
    pub workspace_id: Option<&'a str>,
    /// Only this status (`active|archived`).
    pub status: Option<&'a str>,
}

/// One message found by full-text search.
#[derive(Debug, Clone, FromRow)]
pub struct MessageHit {
    /// `msg_…`
    pub message_id: String,
    /// Session.
    pub session_id: String,
    /// The session's agent.
    pub agent_id: String,
    /// The session's workspace.
    pub workspace_id: String,
    /// `user|assistant|tool|system`.
    pub role: String,
    /// Full text.
    pub content: String,
    /// The matching passage, HTML-escaped, with matches between `<b>` and `</b>` (the only
    /// markup it can contain).
    pub snippet: String,
    /// Relevance, higher is better (bm25 on SQLite, `ts_rank` on PostgreSQL).
    pub score: f64,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

/// A handoff to write atomically.
#[derive(Debug)]
pub struct Handoff<'a> {
    /// The session as loaded (its current agent is the one handed off from).
    pub session: &'a SessionRow,
    /// The agent taking over.
    pub to_agent: &'a str,
    /// The system note recorded in the session.
    pub note: &'a MessageRow,
    /// Audit details.
    pub details: Value,
    /// When.
    pub now: DateTime<Utc>,
}

/// Match marks asked of the engines (FTS5 `snippet()`, `ts_headline`): private-use characters,
/// so the raw passage can be HTML-escaped before they become `<b>`/`</b>`. Marking with `<b>`
/// directly would leave the message's own markup unescaped next to the marks.
const MARK_OPEN: char = '\u{E000}';
/// See [`MARK_OPEN`].
const MARK_CLOSE: char = '\u{E001}';

/// The PostgreSQL text-search expression; queries repeat the indexed expression verbatim so
/// the GIN index `messages_content_fts` serves them.
const PG_TSV: &str = "to_tsvector('simple', left(m.content, 100000))";

impl Sessions<'_> {
    /// A page of the user's sessions, newest activity first, and the total.
    pub async fn list_sessions(
        self,
        f: &SessionFilter<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<SessionRow>, i64), sqlx::Error> {
        let filter =
            "user_id = $1 AND ($2 IS NULL OR workspace_id = $2) AND ($3 IS NULL OR status = $3)";
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE {filter} ORDER BY last_active_at DESC, id DESC LIMIT $4 OFFSET $5"
        );
        let count = format!("SELECT COUNT(*) FROM sessions WHERE {filter}");
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(f.user_id).bind(f.workspace_id).bind(f.status).bind(limit).bind(offset)
                .fetch_all(p).await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                .bind(f.user_id).bind(f.workspace_id).bind(f.status)
                .fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Searches the user's messages (optionally in one workspace), best match first; returns
    /// at most `limit` hits and the number of matches.
    pub async fn search_messages(
        self,
        user_id: &str,
        workspace_id: Option<&str>,
        q: &str,
        limit: i64,
    ) -> Result<(Vec<MessageHit>, i64), sqlx::Error> {
        match &self.0.pool {
            Pool::Sqlite(p) => {
                let Some(query) = fts5_query(q) else {
                    return Ok((Vec::new(), 0));
                };
                let from = "FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
                            JOIN sessions s ON s.id = m.session_id \
                            WHERE messages_fts MATCH $1 AND s.user_id = $2 AND ($3 IS NULL OR s.workspace_id = $3)";
                let sql = format!(
                    "SELECT m.id AS message_id, m.session_id, s.agent_id, s.workspace_id, m.role, m.content, \
                     snippet(messages_fts, 0, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 16) AS snippet, \
                     -bm25(messages_fts) AS score, m.created_at {from} \
                     ORDER BY score DESC, m.created_at DESC, m.id DESC LIMIT $4"
                );
                let hits = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(&query)
                    .bind(user_id)
                    .bind(workspace_id)
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                let hits = render_snippets(hits);
                let count = format!("SELECT COUNT(*) {from}");
                let total = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                    .bind(&query)
                    .bind(user_id)
                    .bind(workspace_id)
                    .fetch_one(p)
                    .await?;
                Ok((hits, total))
            }
            Pool::Postgres(p) => {
                // PostgreSQL text cannot hold NUL (binding one fails the query); no stored
                // message contains one either, so it separates words like a space (found by
                // the property tests in tests/store/prop_search.rs).
                let q = q.replace('\0', " ");
                let q = q.as_str();
                let from = format!(
                    "FROM messages m JOIN sessions s ON s.id = m.session_id \
                     WHERE {PG_TSV} @@ websearch_to_tsquery('simple', $1) \
                     AND s.user_id = $2 AND ($3::text IS NULL OR s.workspace_id = $3)"
                );
                // The headline is computed after the limit: it re-parses the text, so only for
                // the rows returned.
                let sql = format!(
                    "SELECT h.message_id, h.session_id, h.agent_id, h.workspace_id, h.role, h.content, \
                     ts_headline('simple', h.content, websearch_to_tsquery('simple', $1), \
                     'StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=24, MinWords=8') AS snippet, h.score, h.created_at \
                     FROM (SELECT m.id AS message_id, m.session_id, s.agent_id, s.workspace_id, m.role, m.content, \
                     CAST(ts_rank({PG_TSV}, websearch_to_tsquery('simple', $1)) AS DOUBLE PRECISION) AS score, \
                     m.created_at {from} ORDER BY score DESC, m.created_at DESC, m.id DESC LIMIT $4) h \
                     ORDER BY h.score DESC, h.created_at DESC, h.message_id DESC"
                );
                let hits = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(q)
                    .bind(user_id)
                    .bind(workspace_id)
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                let hits = render_snippets(hits);
                let count = format!("SELECT COUNT(*) {from}");
                let total = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                    .bind(q)
                    .bind(user_id)
                    .bind(workspace_id)
                    .fetch_one(p)
                    .await?;
                Ok((hits, total))
            }
        }
    }

    /// Points an active session at another agent: archives any active session the new agent
    /// already has on the same key, records the note and an audit entry, in one transaction.
    /// Returns false (nothing written) when the session changed meanwhile (archived, or
    /// already handed off).
    pub async fn handoff_session(self, h: &Handoff<'_>) -> Result<bool, sqlx::Error> {
        let s = h.session;
        let audit_id = super::ids::new_id("aud");
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let moved = sqlx::query("UPDATE sessions SET agent_id = $2, last_active_at = $4, message_count = message_count + 1 \
                                     WHERE id = $1 AND agent_id = $3 AND status = 'active'")
                .bind(&s.id).bind(h.to_agent).bind(&s.agent_id).bind(h.now)
                .execute(&mut *tx).await?.rows_affected();
            if moved != 1 {
                return Ok(false);
            }
            // The next message to the new agent on this surface must land in this session.
            sqlx::query("UPDATE sessions SET status = 'archived', archived_at = $7 WHERE user_id = $1 AND workspace_id = $2 \
                         AND agent_id = $3 AND surface = $4 AND surface_id = $5 AND status = 'active' AND id <> $6")
                .bind(&s.user_id).bind(&s.workspace_id).bind(h.to_agent).bind(&s.surface)
                .bind(&s.surface_id).bind(&s.id).bind(h.now)
                .execute(&mut *tx).await?;
            let m = h.note;
            sqlx::query("INSERT INTO messages (id, session_id, role, content, tool_calls, tool_call_id, name, incomplete, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&m.id).bind(&m.session_id).bind(&m.role).bind(&m.content)
                .bind(&m.tool_calls).bind(&m.tool_call_id).bind(&m.name).bind(m.incomplete).bind(m.created_at)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO audit_log (id, user_id, workspace_id, action, target, details, created_at) VALUES ($1, $2, $3, 'session.handoff', $4, $5, $6)")
                .bind(&audit_id).bind(&s.user_id).bind(&s.workspace_id).bind(&s.id)
                .bind(Json(&h.details)).bind(h.now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })?;
        // The note is a message the window does not have, and the agent changed.
        self.0.cache.windows.forget(&s.id);
        Ok(true)
    }
}

fn render_snippets(mut hits: Vec<MessageHit>) -> Vec<MessageHit> {
    for hit in &mut hits {
        hit.snippet = render_snippet(&hit.snippet);
    }
    hits
}

/// HTML-escapes an engine's passage (`&`, `<`, `>`, `"`, `'`) and turns its marks into
/// `<b>`/`</b>`. Marks are balanced here (a mark character the message itself contains can
/// neither nest nor leave a tag open), so `<b>` and `</b>` are the only markup that comes out.
pub(crate) fn render_snippet(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            MARK_OPEN if !open => {
                out.push_str("<b>");
                open = true;
            }
            MARK_CLOSE if open => {
                out.push_str("</b>");
                open = false;
            }
            MARK_OPEN | MARK_CLOSE => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</b>");
    }
    out
}

/// Translates web-search syntax (`words`, `"a phrase"`, `or`, `-excluded`) into an FTS5
/// query, mirroring PostgreSQL's `websearch_to_tsquery`: every term becomes a quoted phrase,
/// so user input can never be FTS5 syntax. `None` when nothing searchable remains.
pub(crate) fn fts5_query(q: &str) -> Option<String> {
    // Clauses separated by OR; each holds required and excluded phrases.
    let mut clauses: Vec<(Vec<String>, Vec<String>)> = vec![(Vec::new(), Vec::new())];
    let mut chars = q.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let (negated, quoted) = match c {
            '-' => {
                chars.next();
                (true, chars.peek() == Some(&'"'))
            }
            '"' => (false, true),
            _ => (false, false),
        };
        let mut raw = String::new();
        if quoted {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                raw.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                raw.push(c);
                chars.next();
            }
        }
        if !quoted && !negated && raw.eq_ignore_ascii_case("or") {
            clauses.push((Vec::new(), Vec::new()));
            continue;
        }
        let words: Vec<&str> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        let phrase = format!("\"{}\"", words.join(" "));
        if let Some(clause) = clauses.last_mut() {
            if negated {
                clause.1.push(phrase);
            } else {
                clause.0.push(phrase);
            }
        }
    }
    let rendered: Vec<String> = clauses
        .into_iter()
        .filter(|(required, _)| !required.is_empty())
        .map(|(required, excluded)| {
            let mut clause = format!("({})", required.join(" AND "));
            for phrase in excluded {
                clause.push_str(" NOT ");
                clause.push_str(&phrase);
            }
            format!("({clause})")
        })
        .collect();
    (!rendered.is_empty()).then(|| rendered.join(" OR "))
}

#[cfg(test)]
mod prop;

#[cfg(test)]
mod tests {
    use super::{MARK_CLOSE, MARK_OPEN, fts5_query, render_snippet};

    #[test]
    fn snippets_are_escaped_and_marked() {
        let raw = format!("a <script>alert('x')</script> & \"{MARK_OPEN}hit{MARK_CLOSE}\" b");
        assert_eq!(
            render_snippet(&raw),
            "a &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;<b>hit</b>&quot; b"
        );
        // Stray marks from the message itself never unbalance the markup.
        let raw = format!("{MARK_CLOSE}x{MARK_OPEN}{MARK_OPEN}y");
        assert_eq!(render_snippet(&raw), "x<b>y</b>");
    }

    #[test]
    fn web_search_syntax_becomes_safe_fts5() {
        assert_eq!(
            fts5_query("hello world").as_deref(),
            Some(r#"(("hello" AND "world"))"#)
        );
        assert_eq!(
            fts5_query(r#""exact phrase" -spam or other"#).as_deref(),
            Some(r#"(("exact phrase") NOT "spam") OR (("other"))"#)
        );
        assert_eq!(
            fts5_query("gpt-4o NEAR(x) *").as_deref(),
            Some(r#"(("gpt 4o" AND "NEAR x"))"#)
        );
        assert_eq!(fts5_query("-only"), None);
        assert_eq!(fts5_query("  \"\" ** "), None);
    }
}
