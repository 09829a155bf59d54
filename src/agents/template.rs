//! System-prompt templates: `{{placeholder}}` syntax, checked when an agent is saved and
//! rendered when a turn starts.
//!
//! Rendering is a single left-to-right pass: substituted values are never scanned again, so
//! a memory or an email containing `{{…}}` cannot inject another placeholder.

use chrono::{DateTime, Utc};

/// Every placeholder a template may use.
pub const PLACEHOLDERS: [&str; 12] = [
    "date",
    "time",
    "datetime",
    "weekday",
    "user.email",
    "user.id",
    "agent.id",
    "agent.name",
    "workspace.id",
    "workspace.name",
    "memory",
    "memory.profile",
];

/// The values a template is rendered with.
#[derive(Debug, Clone)]
pub struct PromptContext {
    /// The moment of the turn (`{{date}}`, `{{time}}`, `{{datetime}}`, `{{weekday}}`, UTC).
    pub now: DateTime<Utc>,
    /// `{{user.email}}`.
    pub user_email: String,
    /// `{{user.id}}`.
    pub user_id: String,
    /// `{{agent.id}}`.
    pub agent_id: String,
    /// `{{agent.name}}` (the display name).
    pub agent_name: String,
    /// `{{workspace.id}}`.
    pub workspace_id: String,
    /// `{{workspace.name}}`.
    pub workspace_name: String,
    /// `{{memory}}`: the memory block assembled for this turn (empty when none).
    pub memory: String,
    /// `{{memory.profile}}`: the memory profile's `systemPromptSuffix` (empty when none).
    pub memory_profile: String,
}

/// A problem found in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// A `{{name}}` that is not in [`PLACEHOLDERS`].
    Unknown(String),
    /// A `{{` without its closing `}}`.
    Unclosed,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Unknown(name) => write!(
                f,
                "unknown placeholder {{{{{name}}}}}; known: {}",
                PLACEHOLDERS.join(", ")
            ),
            TemplateError::Unclosed => f.write_str("'{{' without a closing '}}'"),
        }
    }
}

/// Splits a template into literal text and placeholder names (trimmed).
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push(Piece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        out.push(Piece::Name(after[..end].trim()));
        rest = &after[end + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

/// Checks that every placeholder is known; the error names the first bad one.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    for piece in pieces(template)? {
        if let Piece::Name(name) = piece
            && !PLACEHOLDERS.contains(&name)
        {
            return Err(TemplateError::Unknown(name.to_string()));
        }
    }
    Ok(())
}

/// Renders a template. Templates are checked when saved; should an unknown placeholder
/// still appear (an older row), it is left as written rather than failing the turn.
pub fn render_system_prompt(template: &str, ctx: &PromptContext) -> String {
    let Ok(pieces) = pieces(template) else {
        return template.to_string();
    };
    let mut out = String::with_capacity(template.len() + ctx.memory.len());
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Name(name) => match value(name, ctx) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
            },
        }
    }
    out
}

fn value(name: &str, ctx: &PromptContext) -> Option<String> {
    Some(match name {
        "date" => ctx.now.format("%Y-%m-%d").to_string(),
        "time" => ctx.now.format("%H:%M UTC").to_string(),
        "datetime" => ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "weekday" => ctx.now.format("%A").to_string(),
        "user.email" => ctx.user_email.clone(),
        "user.id" => ctx.user_id.clone(),
        "agent.id" => ctx.agent_id.clone(),
        "agent.name" => ctx.agent_name.clone(),
        "workspace.id" => ctx.workspace_id.clone(),
        "workspace.name" => ctx.workspace_name.clone(),
        "memory" => ctx.memory.clone(),
        "memory.profile" => ctx.memory_profile.clone(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ctx() -> PromptContext {
        PromptContext {
            now: Utc
                .with_ymd_and_hms(2026, 2, 27, 12, 5, 0)
                .single()
                .unwrap(),
            user_email: "a@b.io".into(),
            user_id: "usr_1".into(),
            agent_id: "chad".into(),
            agent_name: "Chad".into(),
            workspace_id: "ws_1".into(),
            workspace_name: "Acme".into(),
            memory: "likes {{user.email}}".into(),
            memory_profile: String::new(),
        }
    }

    #[test]
    fn renders_every_placeholder_once() {
        let out = render_system_prompt(
            "{{agent.name}} ({{ agent.id }}) for {{user.email}}/{{user.id}} in {{workspace.name}}/{{workspace.id}} on {{date}} {{time}} {{weekday}}. {{memory}}",
            &ctx(),
        );
        assert_eq!(
            out,
            "Chad (chad) for a@b.io/usr_1 in Acme/ws_1 on 2026-02-27 12:05 UTC Friday. likes {{user.email}}"
        );
    }

    #[test]
    fn check_names_unknown_and_unclosed() {
        assert_eq!(check_template("hi {{date}} {{user.email}}"), Ok(()));
        assert_eq!(
            check_template("hi {{user.phone}}"),
            Err(TemplateError::Unknown("user.phone".into()))
        );
        assert_eq!(check_template("hi {{date"), Err(TemplateError::Unclosed));
        assert_eq!(check_template("plain { text }"), Ok(()));
    }
}
