//! `/traces*`: listing and detail over real chat turns, the OTLP view, and the OTLP exporter
//! posting to a fake collector.

mod collector;
mod export;
mod listing;
mod otlp;
