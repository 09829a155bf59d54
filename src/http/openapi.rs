//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        OpenApi as Doc,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

/// The root of the document; route groups add their paths when merged.
#[derive(OpenApi)]
#[openapi(
    info(title = "Astra gateway", description = "Self-hosted AI-agent gateway"),
    components(schemas(super::error_schema::ErrorOut)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Adds what the route macros cannot describe: the document's own route.
pub fn finish(doc: &mut Doc) {
    use utoipa::openapi::{
        HttpMethod,
        path::{OperationBuilder, PathItem},
        response::ResponseBuilder,
    };
    let op = OperationBuilder::new()
        .summary(Some("Full OpenAPI 3.1 spec"))
        .tag("system")
        .response("200", ResponseBuilder::new().description("this document"))
        .build();
    doc.paths
        .paths
        .insert("/openapi.json".into(), PathItem::new(HttpMethod::Get, op));
}
