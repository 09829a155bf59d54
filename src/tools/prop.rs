//! Property tests of the tools that read untrusted text (issue #12): the calculator (its
//! expression comes from a model, i.e. from whoever wrote the prompt) and HTML text extraction
//! (pages `fetch_page` reads). Arbitrary input never panics, work and output stay bounded, and
//! what can round-trip does: a printed expression evaluates to what it denotes, escaped text
//! comes back out of the extractor unchanged (up to whitespace collapsing).

use proptest::prelude::*;
use serde_json::json;

use super::{
    Calculator, Tool, ToolContext,
    expr::evaluate,
    html::{collapse, decode_entities, extract},
};

/// Input built from the calculator's own alphabet, so the parser goes deep.
fn expression_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,4}",
        Just(".".to_string()),
        Just("e".to_string()),
        Just("E-".to_string()),
        prop::sample::select(vec![
            "+", "-", "*", "**", "/", "%", "^", "(", ")", ",", " ", "×", "÷", "pi", "sqrt(",
            "log(", "min(", "pow(", "x",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

/// An arithmetic expression and what it denotes.
#[derive(Debug, Clone)]
enum Ast {
    Num(u32),
    Neg(Box<Ast>),
    Bin(Box<Ast>, char, Box<Ast>),
}

impl Ast {
    fn render(&self) -> String {
        match self {
            Ast::Num(n) => n.to_string(),
            Ast::Neg(a) => format!("(-{})", a.render()),
            Ast::Bin(a, op, b) => format!("({} {op} {})", a.render(), b.render()),
        }
    }

    /// The value with the evaluator's rules: `None` on division (or remainder) by zero.
    fn value(&self) -> Option<f64> {
        Some(match self {
            Ast::Num(n) => f64::from(*n),
            Ast::Neg(a) => -a.value()?,
            Ast::Bin(a, op, b) => {
                let (x, y) = (a.value()?, b.value()?);
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '^' => x.powf(y),
                    _ if y == 0.0 => return None,
                    '/' => x / y,
                    _ => x % y,
                }
            }
        })
    }
}

fn ast() -> impl Strategy<Value = Ast> {
    (0u32..1000)
        .prop_map(Ast::Num)
        .prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|a| Ast::Neg(Box::new(a))),
                (
                    inner.clone(),
                    prop::sample::select(vec!['+', '-', '*', '/', '%', '^']),
                    inner
                )
                    .prop_map(|(a, op, b)| Ast::Bin(Box::new(a), op, Box::new(b))),
            ]
        })
}

/// HTML-ish input: markup, entities, comments and quotes in any order.
fn html_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        ".{0,6}",
        prop::sample::select(vec![
            "<",
            ">",
            "</",
            "<p>",
            "</p>",
            "<div class=\"a>b\">",
            "<br/>",
            "<title>",
            "</title>",
            "<script>",
            "</script>",
            "<style>",
            "</STYLE>",
            "<!--",
            "-->",
            "<!DOCTYPE html>",
            "&",
            "&amp;",
            "&#",
            "&#x41;",
            "&#1114112;",
            "&nbsp;",
            "&bogus;",
            ";",
            "\"",
            "'",
            "\n",
            "\r\n",
            "é",
            "<a href='",
            "<3",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

/// Text as a page would carry it.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn evaluation_never_panics_and_is_finite(input in prop_oneof![expression_text(), ".{0,80}"]) {
        if let Ok(v) = evaluate(&input) {
            prop_assert!(v.is_finite(), "{input:?} gave {v}");
        }
    }

    #[test]
    fn a_printed_expression_evaluates_to_its_value(a in ast()) {
        let text = a.render();
        match (a.value(), evaluate(&text)) {
            (Some(want), Ok(got)) => prop_assert_eq!(got.to_bits(), want.to_bits(), "{}", text),
            (Some(want), Err(e)) => prop_assert!(!want.is_finite(), "{}: {} but {:?}", text, want, e),
            (None, got) => prop_assert!(got.is_err(), "{}: division by zero gave {:?}", text, got),
        }
    }

    #[test]
    fn the_calculator_answers_a_number_or_an_argument_error(input in expression_text()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ctx = ToolContext::new("usr_prop", "ws_prop", None, "chad");
        let out = rt.block_on(Calculator.execute(&ctx, json!({ "expression": input })));
        match (out, evaluate(&input)) {
            (Ok(v), Ok(want)) => prop_assert_eq!(v["result"].as_f64(), Some(want)),
            (Err(_), Err(_)) => {}
            (out, want) => prop_assert!(false, "tool {:?} but evaluate {:?}", out, want),
        }
    }

    #[test]
    fn extraction_never_panics_and_never_grows(html in prop_oneof![html_text(), ".{0,200}"]) {
        let out = extract(&html);
        // Tags, comments and entities only shrink: bounded output for any page.
        prop_assert!(out.text.len() <= html.len(), "{:?} → {:?}", html, out.text);
        prop_assert!(out.title.map_or(0, |t| t.len()) <= html.len());
    }

    #[test]
    fn escaped_text_comes_back_out(text in ".{0,120}") {
        prop_assert_eq!(decode_entities(&escape(&text)), text.clone());
        let page = format!("<html><body><p>{}</p></body></html>", escape(&text));
        prop_assert_eq!(extract(&page).text, collapse(&text));
        let titled = format!("<title>{}</title>", escape(&text));
        prop_assert_eq!(extract(&titled).title, Some(collapse(&text)).filter(|t| !t.is_empty()));
    }
}

/// Deep nesting and long inputs end in an error, not a stack overflow or a long scan.
#[test]
fn hostile_expressions_are_refused_cheaply() {
    for depth in [65, 300, 499] {
        let nested = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(evaluate(&nested).is_err(), "depth {depth}");
        let negated = format!("{}1", "-".repeat(depth));
        assert!(evaluate(&negated).is_err(), "depth {depth}");
    }
    assert!(evaluate(&"1+".repeat(200_000)).is_err());
}

/// A 256 KiB page of every awkward piece extracts to at most its own size.
#[test]
fn long_pages_extract_with_bounded_output() {
    let piece = "<div a=\"x\">&amp;&#65;&bogus;<!-- c --><script>x</script>text é &</div>\n";
    let page = piece.repeat(256 * 1024 / piece.len());
    let out = extract(&page);
    assert!(out.text.len() <= page.len());
    assert!(out.text.contains("&A&bogus;text é &"));
}
