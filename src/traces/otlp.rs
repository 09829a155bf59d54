//! The OTLP/JSON shapes of a trace export: `ExportTraceServiceRequest` → `resourceSpans` →
//! `scopeSpans` → `spans`, written by hand after the protobuf JSON mapping the OTLP
//! specification fixes (camelCase fields, trace and span ids as lowercase hex, 64-bit
//! integers and nanosecond timestamps as decimal strings, enums as integers). Only what Astra
//! emits is modelled, so no OpenTelemetry crate is needed. The same types answer
//! `GET /traces/:id?format=otlp` (hence `ToSchema`) and are POSTed by the exporter.

use serde::Serialize;
use utoipa::ToSchema;

/// The body of `POST /v1/traces` (OTLP/HTTP, JSON encoding).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportTraceServiceRequest {
    /// Spans grouped by the resource (process) that produced them.
    pub resource_spans: Vec<ResourceSpans>,
}

impl ExportTraceServiceRequest {
    /// One request holding `spans` under Astra's resource (`service.name` = `astra`) and
    /// instrumentation scope.
    pub fn of(spans: Vec<Span>) -> Self {
        let version = env!("CARGO_PKG_VERSION");
        Self {
            resource_spans: vec![ResourceSpans {
                resource: Resource {
                    attributes: vec![
                        KeyValue::string("service.name", "astra"),
                        KeyValue::string("service.version", version),
                    ],
                },
                scope_spans: vec![ScopeSpans {
                    scope: InstrumentationScope {
                        name: "astra".into(),
                        version: version.into(),
                    },
                    spans,
                }],
            }],
        }
    }

    /// Names the process that ran the spans (`service.instance.id`: the replica id).
    pub fn with_instance(mut self, instance: &str) -> Self {
        if !instance.is_empty() {
            for r in &mut self.resource_spans {
                r.resource
                    .attributes
                    .push(KeyValue::string("service.instance.id", instance));
            }
        }
        self
    }

    /// How many spans the request carries.
    pub fn span_count(&self) -> usize {
        self.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }
}

/// Spans of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpans {
    /// The producing service (`service.name` = `astra`, `service.version`).
    pub resource: Resource,
    /// Spans grouped by instrumentation scope.
    pub scope_spans: Vec<ScopeSpans>,
}

/// A resource: attributes describing the producer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// `service.name`, `service.version`.
    pub attributes: Vec<KeyValue>,
}

/// Spans of one instrumentation scope.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeSpans {
    /// The instrumentation (`astra.traces`).
    pub scope: InstrumentationScope,
    /// The spans.
    pub spans: Vec<Span>,
}

/// Name and version of the code that produced the spans.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstrumentationScope {
    /// Scope name.
    pub name: String,
    /// Scope version.
    pub version: String,
}

/// One span.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 16 bytes as 32 lowercase hex digits; the same for every span of a turn.
    pub trace_id: String,
    /// 8 bytes as 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's `spanId`; absent on the root span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// `invoke_agent {agent}`, `chat {model}`, `execute_tool {tool}`.
    pub name: String,
    /// `SpanKind` as its integer: 1 internal, 3 client.
    pub kind: i32,
    /// Start, nanoseconds since the Unix epoch, as a decimal string.
    pub start_time_unix_nano: String,
    /// End, nanoseconds since the Unix epoch, as a decimal string.
    pub end_time_unix_nano: String,
    /// GenAI semantic-convention attributes plus `astra.*` ones.
    pub attributes: Vec<KeyValue>,
    /// How the operation ended.
    pub status: Status,
}

/// `SpanKind` values used here.
pub mod kind {
    /// An operation inside the gateway (the turn, a tool call).
    pub const INTERNAL: i32 = 1;
    /// A call to a remote service (an inference provider).
    pub const CLIENT: i32 = 3;
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `StatusCode`: 0 unset, 1 ok, 2 error.
    pub code: i32,
    /// What went wrong (error only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Status {
    /// Neither ok nor error (e.g. a turn the client cancelled).
    pub fn unset() -> Self {
        Self {
            code: 0,
            message: String::new(),
        }
    }
    /// Completed successfully.
    pub fn ok() -> Self {
        Self {
            code: 1,
            message: String::new(),
        }
    }
    /// Failed, with a message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValue {
    /// Attribute name.
    pub key: String,
    /// Attribute value.
    pub value: AnyValue,
}

/// An attribute value: exactly one of the typed fields.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AnyValue {
    /// A string.
    StringValue(String),
    /// A 64-bit integer, as a decimal string (the protobuf JSON mapping of `int64`).
    IntValue(String),
    /// A double.
    DoubleValue(f64),
    /// A boolean.
    BoolValue(bool),
    /// A list of strings (e.g. `gen_ai.response.finish_reasons`).
    ArrayValue(StringArray),
}

/// `ArrayValue` restricted to string elements, the only arrays Astra emits.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StringArray {
    /// The elements, each `{stringValue}`.
    pub values: Vec<StringItem>,
}

/// One string element of an array.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StringItem {
    /// The string.
    pub string_value: String,
}

impl KeyValue {
    /// A string attribute.
    pub fn string(key: &str, value: impl Into<String>) -> Self {
        Self::new(key, AnyValue::StringValue(value.into()))
    }
    /// An integer attribute.
    pub fn int(key: &str, value: i64) -> Self {
        Self::new(key, AnyValue::IntValue(value.to_string()))
    }
    /// A double attribute.
    pub fn double(key: &str, value: f64) -> Self {
        Self::new(key, AnyValue::DoubleValue(value))
    }
    /// A boolean attribute.
    pub fn bool(key: &str, value: bool) -> Self {
        Self::new(key, AnyValue::BoolValue(value))
    }
    /// A string-array attribute.
    pub fn strings(key: &str, values: impl IntoIterator<Item = String>) -> Self {
        let values = values
            .into_iter()
            .map(|string_value| StringItem { string_value })
            .collect();
        Self::new(key, AnyValue::ArrayValue(StringArray { values }))
    }
    fn new(key: &str, value: AnyValue) -> Self {
        Self {
            key: key.to_string(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_follow_the_protobuf_json_mapping() {
        let attrs = vec![
            KeyValue::string("s", "x"),
            KeyValue::int("i", 12),
            KeyValue::double("d", 0.5),
            KeyValue::bool("b", true),
            KeyValue::strings("a", ["stop".to_string()]),
        ];
        assert_eq!(
            serde_json::to_value(attrs).unwrap(),
            json!([
                {"key": "s", "value": {"stringValue": "x"}},
                {"key": "i", "value": {"intValue": "12"}},
                {"key": "d", "value": {"doubleValue": 0.5}},
                {"key": "b", "value": {"boolValue": true}},
                {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
            ])
        );
        assert_eq!(
            serde_json::to_value(Status::ok()).unwrap(),
            json!({"code": 1})
        );
    }
}
