//! Sessions: listing, detail, full-text search and handoff, over real chat turns.

mod handoff;
mod list;
mod search;
