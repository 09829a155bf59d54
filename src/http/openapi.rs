//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        OpenApi as Doc,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::error_schema::ErrorOut;

/// The root of the document; route groups add their paths when merged.
#[derive(OpenApi)]
#[openapi(
    info(title = "Astra gateway", description = "Self-hosted AI-agent gateway"),
    components(schemas(ErrorOut)),
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
                    // Both are accepted wherever a bearer is: the API key within its scopes.
                    .bearer_format("JWT or ak_ API key")
                    .description(Some(
                        "An access token (JWT, from /auth/login or /auth/register) or a \
                         long-lived API key `ak_…` (POST /api-keys), e.g. as an OpenAI SDK's \
                         api_key on /v1",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Documents the 401 of every secured operation: the credential extractors refuse a missing
/// or bad credential with an `ErrorOut` before the handler runs, so no handler lists it.
fn document_unauthorized(doc: &mut Doc) {
    use utoipa::openapi::{Ref, RefOr, content::ContentBuilder, response::ResponseBuilder};
    let unauthorized = ResponseBuilder::new()
        .description("missing or invalid credentials")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorOut")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                op.responses
                    .responses
                    .entry("401".into())
                    .or_insert_with(|| RefOr::T(unauthorized.clone()));
            }
        }
    }
}

/// Adds what the route macros cannot describe: the document's own route, and the 401 of
/// every secured operation.
pub fn finish(doc: &mut Doc) {
    document_unauthorized(doc);
    use utoipa::openapi::{
        HttpMethod, ObjectBuilder,
        content::ContentBuilder,
        path::{OperationBuilder, PathItem},
        response::ResponseBuilder,
    };
    // The document is an OpenAPI 3.1 object; its schema names the top-level members only.
    let member = |description: &str| ObjectBuilder::new().description(Some(description));
    let schema = ObjectBuilder::new()
        .description(Some("OpenAPI 3.1 document"))
        .property("openapi", member("spec version, `3.1.x`"))
        .property("info", member("title, description, version"))
        .property("paths", member("every route and its operations"))
        .property("components", member("schemas and security schemes"))
        .required("openapi")
        .required("paths");
    let body = ContentBuilder::new().schema(Some(schema)).build();
    let op = OperationBuilder::new()
        .summary(Some("Full OpenAPI 3.1 spec"))
        .tag("system")
        .response(
            "200",
            ResponseBuilder::new()
                .description("this document")
                .content("application/json", body),
        )
        .build();
    doc.paths
        .paths
        .insert("/openapi.json".into(), PathItem::new(HttpMethod::Get, op));
}
