//! Field validation for handlers: a re-export of [`crate::validate`], which sits next to the
//! error type so domain modules can use it without importing the HTTP layer.

pub use crate::validate::*;
