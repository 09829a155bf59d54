//! The monthly token budget under concurrency: what a user spent (`user_monthly_tokens`, added
//! to by [`super::Turns::record_turn`]) plus what running turns reserved (`token_reservations`).
//!
//! A turn reserves an estimate before it runs ([`Budgets::reserve`]) and the turn's own
//! transaction removes the reservation while adding the real tokens, so concurrent turns see
//! each other: they cannot all pass the check against the same remaining budget. A
//! reservation left by a crashed process stops counting at its `expires_at`.

use chrono::{DateTime, Utc};

use super::{BeginWrite, Pool, Store};
use crate::with_pool;

/// A reservation request.
#[derive(Debug, Clone)]
pub struct Reservation<'a> {
    /// `tres_…`
    pub id: &'a str,
    /// User whose budget it holds.
    pub user_id: &'a str,
    /// `YYYY-MM` of the budget.
    pub month: &'a str,
    /// Tokens admitted against: the turn is refused when spent + reserved + `admit` exceeds
    /// the budget (the same test as the check before planning).
    pub admit: i64,
    /// Tokens held while the turn runs (its estimate).
    pub hold: i64,
    /// The monthly budget.
    pub budget: i64,
    /// Now.
    pub now: DateTime<Utc>,
    /// When the reservation stops counting (a turn never runs longer).
    pub expires_at: DateTime<Utc>,
}

/// Monthly token budgets: spent tokens and live reservations.
#[derive(Clone, Copy)]
pub struct Budgets<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The budgets aggregate.
    pub fn budgets(&self) -> Budgets<'_> {
        Budgets(self)
    }
}

impl Budgets<'_> {
    /// Tokens a user spent in `month` plus the tokens live reservations hold, in one read.
    pub async fn committed(
        self,
        user_id: &str,
        month: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE((SELECT tokens FROM user_monthly_tokens WHERE user_id = $1 AND month = $2), 0) \
                 + COALESCE((SELECT SUM(tokens) FROM token_reservations WHERE user_id = $1 AND expires_at > $3), 0) AS BIGINT)",
            )
            .bind(user_id).bind(month).bind(now).fetch_one(p).await
        })
    }

    /// Reserves `r.hold` tokens when spent + live reservations + `r.admit` stay within the
    /// budget; false (nothing written) otherwise. Reservations of one user are serialised on
    /// their counter row (`FOR UPDATE` on PostgreSQL; SQLite's write lock), so two turns
    /// never both take the last of a budget.
    pub async fn reserve(self, r: &Reservation<'_>) -> Result<bool, sqlx::Error> {
        let lock = match self.0.pool {
            Pool::Postgres(_) => " FOR UPDATE",
            Pool::Sqlite(_) => "",
        };
        let counter = format!(
            "SELECT tokens FROM user_monthly_tokens WHERE user_id = $1 AND month = $2{lock}"
        );
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO user_monthly_tokens (user_id, month, tokens) VALUES ($1, $2, 0) ON CONFLICT (user_id, month) DO NOTHING")
                .bind(r.user_id).bind(r.month).execute(&mut *tx).await?;
            let spent: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(counter.as_str()))
                .bind(r.user_id).bind(r.month).fetch_one(&mut *tx).await?;
            sqlx::query("DELETE FROM token_reservations WHERE user_id = $1 AND expires_at <= $2")
                .bind(r.user_id).bind(r.now).execute(&mut *tx).await?;
            let held: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM token_reservations WHERE user_id = $1")
                .bind(r.user_id).fetch_one(&mut *tx).await?;
            if spent.saturating_add(held).saturating_add(r.admit) > r.budget {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("INSERT INTO token_reservations (id, user_id, tokens, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(r.id).bind(r.user_id).bind(r.hold).bind(r.expires_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Drops a reservation whose turn will not run (planning failed after reserving).
    pub async fn release(self, id: &str) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM token_reservations WHERE id = $1").bind(id).execute(p).await.map(|_| ())
        })
    }
}
