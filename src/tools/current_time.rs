//! `current_time`: the current date and time in an IANA timezone.

use async_trait::async_trait;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, parse_args};

/// Tells the model the current date and time; models have no clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct CurrentTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    timezone: Option<String>,
}

#[async_trait]
impl Tool for CurrentTime {
    fn name(&self) -> &str {
        "current_time"
    }

    fn description(&self) -> &str {
        "Get the current date, time and weekday, optionally in an IANA timezone such as \
         'Europe/Paris' (default UTC)."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA timezone name, e.g. 'America/New_York'. Defaults to UTC."
                }
            },
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let args: Args = parse_args(args)?;
        let name = args
            .timezone
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "UTC".to_string());
        let tz: Tz = name.parse().map_err(|_| {
            ToolError::InvalidArguments(format!("unknown timezone '{name}' (use an IANA name)"))
        })?;
        let now = Utc::now().with_timezone(&tz);
        Ok(json!({
            "iso": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "unix": now.timestamp(),
            "timezone": tz.name(),
            "weekday": now.format("%A").to_string(),
            "utcOffset": now.format("%:z").to_string(),
        }))
    }
}
