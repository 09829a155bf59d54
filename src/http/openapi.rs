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

/// Documents the 400 and 404 the extractors answer before a handler runs: a path or query
/// parameter or a body that does not parse is a 400 `VALIDATION_ERROR`, and a path naming no
/// resource is a 404 `NOT_FOUND`. `/v1` documents its own (in OpenAI's shape).
fn document_extractor_refusals(doc: &mut Doc) {
    use utoipa::openapi::{
        Ref, RefOr, content::ContentBuilder, path::ParameterIn, response::ResponseBuilder,
    };
    let refusal = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorOut")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        if path.starts_with("/v1") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            let params = op.parameters.as_deref().unwrap_or_default();
            let in_path = params
                .iter()
                .any(|p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Path)));
            if !params.is_empty() || op.request_body.is_some() {
                op.responses
                    .responses
                    .entry("400".into())
                    .or_insert_with(|| refusal("invalid parameters or body"));
            }
            if in_path {
                op.responses
                    .responses
                    .entry("404".into())
                    .or_insert_with(|| refusal("no such resource"));
            }
        }
    }
}

/// Adds what the route macros cannot describe: the document's own route, the 401 of every
/// secured operation, and the extractors' 400 and 404.
pub fn finish(doc: &mut Doc) {
    document_unauthorized(doc);
    document_extractor_refusals(doc);
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
