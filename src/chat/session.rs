//! Which session a turn belongs to: the active one for (user, workspace, agent, surface,
//! surfaceId), unless it went idle or crossed the agent's daily reset hour.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::store::{SessionKey, SessionRow, Store, ids::new_id};

/// When sessions of an agent end.
#[derive(Debug, Clone, Copy)]
pub struct ResetPolicy {
    /// Idle minutes after which a new session starts (0 = never).
    pub idle_timeout_minutes: u32,
    /// UTC hour at which sessions reset daily.
    pub daily_reset_hour: u8,
}

/// The most recent daily reset instant at or before `now`.
pub fn last_reset(now: DateTime<Utc>, hour: u8) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(u32::from(hour.min(23)), 0, 0).unwrap_or(NaiveTime::MIN);
    let today = now.date_naive().and_time(time).and_utc();
    if today <= now {
        today
    } else {
        today - Duration::days(1)
    }
}

/// True when the session must not take another message.
pub fn is_stale(session: &SessionRow, policy: ResetPolicy, now: DateTime<Utc>) -> bool {
    let idle = policy.idle_timeout_minutes > 0
        && now - session.last_active_at > Duration::minutes(i64::from(policy.idle_timeout_minutes));
    let crossed_reset = session.last_active_at < last_reset(now, policy.daily_reset_hour)
        && session.created_at < last_reset(now, policy.daily_reset_hour);
    idle || crossed_reset
}

/// Finds the live session for `key` or starts one (archiving a stale one); returns it and
/// whether it is new.
pub async fn resolve(
    store: &Store,
    key: &SessionKey<'_>,
    policy: ResetPolicy,
    now: DateTime<Utc>,
) -> Result<(SessionRow, bool), sqlx::Error> {
    if let Some(session) = store.sessions().active_session(key).await? {
        if !is_stale(&session, policy, now) {
            return Ok((session, false));
        }
        store.sessions().archive_session(&session.id, now).await?;
    }
    let session = SessionRow {
        id: new_id("ses"),
        user_id: key.user_id.to_string(),
        workspace_id: key.workspace_id.to_string(),
        agent_id: key.agent_id.to_string(),
        surface: key.surface.to_string(),
        surface_id: key.surface_id.to_string(),
        status: "active".into(),
        summary: None,
        summary_until: None,
        message_count: 0,
        created_at: now,
        last_active_at: now,
        archived_at: None,
    };
    store.sessions().insert_session(&session).await?;
    Ok((session, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn session(created: DateTime<Utc>, last: DateTime<Utc>) -> SessionRow {
        SessionRow {
            id: "ses_1".into(),
            user_id: "u".into(),
            workspace_id: "w".into(),
            agent_id: "a".into(),
            surface: "chat".into(),
            surface_id: "main".into(),
            status: "active".into(),
            summary: None,
            summary_until: None,
            message_count: 0,
            created_at: created,
            last_active_at: last,
            archived_at: None,
        }
    }

    #[test]
    fn idle_and_daily_reset() {
        let t = |h, m| {
            Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
                .single()
                .expect("time")
        };
        let policy = ResetPolicy {
            idle_timeout_minutes: 30,
            daily_reset_hour: 4,
        };
        assert!(!is_stale(&session(t(10, 0), t(10, 0)), policy, t(10, 20)));
        assert!(is_stale(&session(t(10, 0), t(10, 0)), policy, t(10, 31)));
        let no_idle = ResetPolicy {
            idle_timeout_minutes: 0,
            daily_reset_hour: 4,
        };
        assert!(!is_stale(&session(t(5, 0), t(5, 0)), no_idle, t(23, 0)));
        assert!(is_stale(&session(t(3, 0), t(3, 50)), no_idle, t(4, 10)));
        assert_eq!(last_reset(t(3, 0), 4), t(4, 0) - Duration::days(1));
    }
}
