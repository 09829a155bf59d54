//! The cost counter. `metrics` counters are integers, and a gauge would be typed wrong, so
//! the USD totals per provider and model are kept here and appended to the exposition as a
//! `counter` family.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex};

use super::names::INFERENCE_COST;

/// Totals per `(provider, model)`; bounded by the configured providers and models.
static TOTALS: Mutex<BTreeMap<(String, String), f64>> = Mutex::new(BTreeMap::new());

/// Adds `usd` (ignored unless finite and positive).
pub fn add(provider: &str, model: &str, usd: f64) {
    if !(usd.is_finite() && usd > 0.0) {
        return;
    }
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    *totals
        .entry((provider.to_string(), model.to_string()))
        .or_default() += usd;
}

/// Appends the family in the text exposition format.
pub fn render(out: &mut String) {
    let totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(
        out,
        "# HELP {INFERENCE_COST} Cost in USD by provider and model"
    );
    let _ = writeln!(out, "# TYPE {INFERENCE_COST} counter");
    for ((provider, model), usd) in totals.iter() {
        let _ = writeln!(
            out,
            "{INFERENCE_COST}{{provider=\"{}\",model=\"{}\"}} {usd}",
            escape(provider),
            escape(model)
        );
    }
}

/// Label value escaping of the text format: backslash, quote, newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
