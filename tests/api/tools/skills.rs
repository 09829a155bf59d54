//! Skill registry: built-ins, astra.yml validation and capability expansion.

use astra::skills::{SkillError, SkillRegistry, effective_tools};
use astra::tools::{SearchBackend, ToolsConfig, WebSearchConfig};
use serde_json::json;

use super::support::registry;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn with_search() -> ToolsConfig {
    ToolsConfig {
        web_search: Some(WebSearchConfig {
            backend: SearchBackend::Searxng {
                base_url: "http://searx.invalid".parse().unwrap(),
            },
        }),
        ..ToolsConfig::default()
    }
}

#[test]
fn builtin_skills_are_present_with_instructions() {
    let tools = registry(&ToolsConfig::default());
    let skills = SkillRegistry::new(&[], &tools).unwrap();
    for (id, expected) in [
        ("utilities", vec!["current_time", "calculator"]),
        ("web_research", vec!["web_search", "fetch_page"]),
        (
            "memory",
            vec!["memory_search", "memory_write", "profile_update"],
        ),
    ] {
        let skill = skills.get(id).unwrap();
        assert!(skill.builtin);
        assert_eq!(skill.tools, expected);
        assert!(
            skill.instructions.len() > 100,
            "{id} needs real instructions"
        );
    }
    let json = serde_json::to_value(skills.get("web_research").unwrap()).unwrap();
    assert_eq!(json["displayName"], "Web research");
}

#[test]
fn yml_skills_are_loaded_after_builtins() {
    let tools = registry(&ToolsConfig::default());
    let yml = [json!({
        "id": "researcher",
        "displayName": "Researcher",
        "category": "research",
        "description": "Reads pages",
        "tools": ["fetch_page", "calculator"],
        "instructions": "Cite sources."
    })];
    let skills = SkillRegistry::new(&yml, &tools).unwrap();
    let ids: Vec<&str> = skills.list().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["utilities", "web_research", "memory", "researcher"]);
    let skill = skills.get("researcher").unwrap();
    assert!(!skill.builtin);
    assert_eq!(skill.instructions, "Cite sources.");
    assert_eq!(skills.unknown(&strings(&["researcher", "nope"])), ["nope"]);
}

#[test]
fn yml_skill_validation_errors_name_skill_and_tool() {
    let tools = registry(&ToolsConfig::default());
    let err = SkillRegistry::new(
        &[json!({ "id": "ops", "tools": ["calculator", "shell_exec"] })],
        &tools,
    )
    .unwrap_err();
    assert_eq!(
        err,
        SkillError::UnknownTool {
            skill: "ops".into(),
            tool: "shell_exec".into()
        }
    );
    assert!(err.to_string().contains("ops") && err.to_string().contains("shell_exec"));

    let dup = json!({ "id": "ops", "tools": [] });
    let err = SkillRegistry::new(&[dup.clone(), dup], &tools).unwrap_err();
    assert_eq!(err, SkillError::Duplicate { id: "ops".into() });

    let err = SkillRegistry::new(&[json!({ "id": "utilities", "tools": [] })], &tools).unwrap_err();
    assert_eq!(
        err,
        SkillError::Duplicate {
            id: "utilities".into()
        }
    );

    let err = SkillRegistry::new(&[json!({ "id": "Bad Id", "tools": [] })], &tools).unwrap_err();
    assert!(matches!(err, SkillError::InvalidId { .. }));

    let err = SkillRegistry::new(
        &[json!({ "id": "x", "tools": ["calculator", "calculator"] })],
        &tools,
    )
    .unwrap_err();
    assert!(matches!(err, SkillError::DuplicateTool { .. }));

    let err = SkillRegistry::new(
        &[
            json!({ "id": "ok", "tools": [] }),
            json!({ "tools": "calculator" }),
        ],
        &tools,
    )
    .unwrap_err();
    assert!(
        matches!(err, SkillError::Invalid { index: 1, .. }),
        "{err:?}"
    );

    let err = SkillRegistry::new(&[json!({ "id": "x", "tols": [] })], &tools).unwrap_err();
    assert!(matches!(err, SkillError::Invalid { index: 0, .. }));
}

#[test]
fn expansion_unions_allow_and_skills_and_deny_wins() {
    let tools = registry(&with_search());
    let skills = SkillRegistry::new(&[], &tools).unwrap();
    assert_eq!(
        skills.expand(&strings(&["utilities", "unknown", "web_research"])),
        vec![
            ("current_time".to_string(), Some("utilities".to_string())),
            ("calculator".to_string(), Some("utilities".to_string())),
            ("web_search".to_string(), Some("web_research".to_string())),
            ("fetch_page".to_string(), Some("web_research".to_string())),
        ]
    );
    let effective = effective_tools(
        &strings(&["http_request", "calculator", "not_a_tool"]),
        &strings(&["fetch_page", "http_request"]),
        &strings(&["utilities", "web_research"]),
        &skills,
        &tools,
    );
    let got: Vec<(&str, Option<&str>)> = effective
        .iter()
        .map(|t| (t.name.as_str(), t.skill.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("calculator", None),
            ("current_time", Some("utilities")),
            ("web_search", Some("web_research"))
        ]
    );
    assert_eq!(effective[0].parameters["required"], json!(["expression"]));
    assert!(!effective[0].description.is_empty());
    let json = serde_json::to_value(&effective[1]).unwrap();
    assert_eq!(json["skill"], "utilities");
}

#[test]
fn tools_that_are_not_offered_are_left_out() {
    let tools = registry(&ToolsConfig::default());
    let skills = SkillRegistry::new(&[], &tools).unwrap();
    let effective = effective_tools(
        &[],
        &[],
        &strings(&["web_research", "memory"]),
        &skills,
        &tools,
    );
    let names: Vec<&str> = effective.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["fetch_page"]);
}
