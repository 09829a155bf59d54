//! `calculator`: exact arithmetic the model should not do in its head.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, evaluate, parse_args};

/// Evaluates arithmetic expressions with the safe evaluator in `expr`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Calculator;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    expression: String,
}

/// Largest magnitude at which every integer is exactly representable in `f64`.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

#[async_trait]
impl Tool for Calculator {
    fn name(&self) -> &str {
        "calculator"
    }

    fn description(&self) -> &str {
        "Evaluate an arithmetic expression: + - * / % ^, parentheses, functions sqrt, abs, \
         round, floor, ceil, min, max, pow, exp, ln, log (base 10, or log(x, base)), sin, cos, \
         tan, and constants pi and e."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "The expression, e.g. '(1200 * 0.15) + sqrt(81)'."
                }
            },
            "required": ["expression"],
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        true
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let args: Args = parse_args(args)?;
        let value =
            evaluate(&args.expression).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
        // Whole numbers are returned as JSON integers so the model reads "4", not "4.0".
        let result = if value.fract() == 0.0 && value.abs() <= EXACT_INT {
            json!(value as i64)
        } else {
            json!(value)
        };
        Ok(json!({ "expression": args.expression, "result": result }))
    }
}
