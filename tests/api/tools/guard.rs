//! The outbound URL guard refusing loopback: literal IPs, names that resolve
//! to loopback, redirects, and the redirect limit.

use std::time::Duration;

use astra::net::{BlockReason, GuardError, find_guard_error, guarded_client};
use astra::tools::{ToolError, ToolsConfig};
use serde_json::json;

use super::support::{ctx, registry, spawn_server};

fn port(base: &str) -> &str {
    base.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn tools_refuse_loopback_literals_unless_allowed() {
    let base = spawn_server().await;
    let tools = registry(&ToolsConfig::default());
    for (name, args) in [
        ("fetch_page", json!({ "url": format!("{base}/page") })),
        (
            "http_request",
            json!({ "method": "GET", "url": format!("{base}/echo") }),
        ),
        (
            "fetch_page",
            json!({ "url": format!("http://[::ffff:127.0.0.1]:{}/page", port(&base)) }),
        ),
        (
            "fetch_page",
            json!({ "url": "http://169.254.169.254/latest/meta-data/" }),
        ),
        ("fetch_page", json!({ "url": "http://10.0.0.1/" })),
    ] {
        let err = tools
            .get(name)
            .unwrap()
            .execute(&ctx(), args.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ToolError::Blocked(_)),
            "{name} {args}: {err:?}"
        );
    }
}

#[tokio::test]
async fn tools_refuse_localhost_names() {
    let base = spawn_server().await;
    let tools = registry(&ToolsConfig::default());
    let url = format!("http://localhost:{}/page", port(&base));
    let err = tools
        .get("fetch_page")
        .unwrap()
        .execute(&ctx(), json!({ "url": url }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Blocked(ref m) if m.contains("loopback")),
        "{err:?}"
    );
}

#[tokio::test]
async fn resolver_refuses_names_resolving_to_loopback() {
    // Straight through the client, bypassing the tools' name check, so the
    // refusal has to come from the resolver that sees 127.0.0.1 / ::1.
    let base = spawn_server().await;
    let client = guarded_client(false, Duration::from_secs(5)).unwrap();
    let err = client
        .get(format!("http://localhost:{}/page", port(&base)))
        .send()
        .await
        .unwrap_err();
    match find_guard_error(&err) {
        Some(GuardError::Blocked { host, reason }) => {
            assert_eq!(host, "localhost");
            assert_eq!(*reason, BlockReason::Loopback);
        }
        other => panic!("expected a resolver refusal, got {other:?} from {err:?}"),
    }
}

#[tokio::test]
async fn redirects_to_private_addresses_are_refused() {
    // The first hop is a literal IP, which the client itself does not check
    // (tools do that before sending); this stands in for a public URL that
    // redirects inward, and every hop after it must be refused.
    let base = spawn_server().await;
    let client = guarded_client(false, Duration::from_secs(5)).unwrap();
    for target in [
        format!("{base}/page"),
        format!("http://localhost:{}/page", port(&base)),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[::1]/".to_string(),
    ] {
        let url = reqwest::Url::parse_with_params(&format!("{base}/redirect"), [("to", &target)])
            .unwrap();
        let err = client.get(url).send().await.unwrap_err();
        assert!(err.is_redirect(), "{target}: {err:?}");
        assert!(
            matches!(find_guard_error(&err), Some(GuardError::Blocked { .. })),
            "{target}: {err:?}"
        );
    }
    // With private URLs allowed the same redirect is followed.
    let client = guarded_client(true, Duration::from_secs(5)).unwrap();
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/redirect"),
        [("to", format!("{base}/plain"))],
    )
    .unwrap();
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "just   plain\n\n text");
}

#[tokio::test]
async fn redirect_chains_stop_after_five_hops() {
    let base = spawn_server().await;
    let client = guarded_client(true, Duration::from_secs(5)).unwrap();
    let resp = client.get(format!("{base}/hops/5")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "arrived");
    let err = client
        .get(format!("{base}/hops/6"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(find_guard_error(&err), Some(&GuardError::TooManyRedirects));
}

#[tokio::test]
async fn redirect_to_non_http_scheme_is_not_followed() {
    // reqwest stops before consulting the policy and hands back the 3xx itself.
    let base = spawn_server().await;
    let tools = registry(&ToolsConfig {
        allow_private_urls: true,
        ..ToolsConfig::default()
    });
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/redirect"),
        [("to", "file:///etc/passwd")],
    )
    .unwrap();
    let out = tools
        .get("fetch_page")
        .unwrap()
        .execute(&ctx(), json!({ "url": url.as_str() }))
        .await
        .unwrap();
    assert_eq!(out["status"], 307);
    assert_eq!(out["text"], "");
}
