//! Response shapes shared by every route group.

use serde::Serialize;
use utoipa::ToSchema;

use crate::page::Page;

/// One page of a list: `{items, total, limit, offset}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}

impl<T: ToSchema> Paged<T> {
    /// Wraps one page of `items` out of `total`.
    pub fn new(items: Vec<T>, total: i64, page: Page) -> Self {
        Self {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, ToSchema)]
    struct Item {
        id: String,
    }

    #[test]
    fn a_page_schema_names_its_items() {
        let schema = serde_json::to_value(<Paged<Item> as utoipa::PartialSchema>::schema())
            .unwrap_or_default();
        let text = schema.to_string();
        assert!(text.contains("items") && text.contains("total"), "{text}");
    }
}
