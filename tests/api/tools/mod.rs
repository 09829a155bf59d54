//! Built-in tools, the outbound URL guard and skills, exercised for real
//! against HTTP servers started on 127.0.0.1 inside the tests.

mod builtin;
mod fetch_page;
mod guard;
mod http_request;
mod skills;
mod support;
mod web_search;
