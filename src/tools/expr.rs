//! A small arithmetic evaluator for the calculator tool.
//!
//! Hand-written recursive descent rather than a crate: the grammar is tiny, and
//! owning it guarantees there are no variables, assignments, loops or string
//! functions, and that depth and length are bounded. Grammar:
//!
//! ```text
//! expr    := term (('+' | '-') term)*
//! term    := unary (('*' | '/' | '%') unary)*
//! unary   := ('-' | '+') unary | power
//! power   := primary ('^' unary)?          right-associative; -2^2 = -4
//! primary := number | constant | function '(' expr (',' expr)* ')' | '(' expr ')'
//! ```

/// Longest expression accepted, in characters.
const MAX_LEN: usize = 1_000;
/// Deepest nesting accepted, so a hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Op(char),
    LParen,
    RParen,
    Comma,
}

/// Evaluates `input` to a finite number.
pub fn evaluate(input: &str) -> Result<f64, ExprError> {
    if input.chars().count() > MAX_LEN {
        return err(format!("expression is longer than {MAX_LEN} characters"));
    }
    let tokens = lex(input)?;
    if tokens.is_empty() {
        return err("expression is empty");
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let value = parser.expr()?;
    if let Some(tok) = parser.tokens.get(parser.pos) {
        return err(format!("unexpected {}", describe(tok)));
    }
    if !value.is_finite() {
        return err("result is not a finite number");
    }
    Ok(value)
}

fn lex(input: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                // An exponent only when digits follow, so `2e` stays "2" then "e".
                if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && matches!(chars[j], '+' | '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        i = j;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| ExprError(format!("invalid number '{text}'")))?;
                tokens.push(Token::Num(n));
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                tokens.push(Token::Ident(name.to_ascii_lowercase()));
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                tokens.push(Token::Op('^'));
                i += 2;
            }
            '+' | '-' | '*' | '/' | '%' | '^' => {
                tokens.push(Token::Op(c));
                i += 1;
            }
            '×' => {
                tokens.push(Token::Op('*'));
                i += 1;
            }
            '÷' => {
                tokens.push(Token::Op('/'));
                i += 1;
            }
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            other => return err(format!("unexpected character '{other}'")),
        }
    }
    Ok(tokens)
}

fn describe(tok: &Token) -> String {
    match tok {
        Token::Num(n) => format!("number {n}"),
        Token::Ident(name) => format!("name '{name}'"),
        Token::Op(c) => format!("operator '{c}'"),
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::Comma => "','".into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        tok
    }

    fn expect_token(&mut self, want: &Token) -> Result<(), ExprError> {
        match self.next() {
            Some(ref tok) if tok == want => Ok(()),
            Some(tok) => err(format!(
                "expected {}, found {}",
                describe(want),
                describe(&tok)
            )),
            None => err(format!(
                "expected {}, found end of expression",
                describe(want)
            )),
        }
    }

    fn expr(&mut self) -> Result<f64, ExprError> {
        let mut value = self.term()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.term()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<f64, ExprError> {
        let mut value = self.unary()?;
        while let Some(Token::Op(op @ ('*' | '/' | '%'))) = self.peek().cloned() {
            self.pos += 1;
            let rhs = self.unary()?;
            value = match op {
                '*' => value * rhs,
                _ if rhs == 0.0 => return err("division by zero"),
                '/' => value / rhs,
                _ => value % rhs,
            };
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<f64, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("expression is nested too deeply");
        }
        let value = match self.peek() {
            Some(Token::Op('-')) => {
                self.pos += 1;
                -self.unary()?
            }
            Some(Token::Op('+')) => {
                self.pos += 1;
                self.unary()?
            }
            _ => self.power()?,
        };
        self.depth -= 1;
        Ok(value)
    }

    fn power(&mut self) -> Result<f64, ExprError> {
        let base = self.primary()?;
        if self.peek() == Some(&Token::Op('^')) {
            self.pos += 1;
            let exponent = self.unary()?;
            return Ok(base.powf(exponent));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<f64, ExprError> {
        match self.next() {
            Some(Token::Num(n)) => Ok(n),
            Some(Token::LParen) => {
                let value = self.expr()?;
                self.expect_token(&Token::RParen)?;
                Ok(value)
            }
            Some(Token::Ident(name)) => {
                if self.peek() == Some(&Token::LParen) {
                    self.pos += 1;
                    let args = self.arguments()?;
                    call(&name, &args)
                } else {
                    constant(&name)
                }
            }
            Some(tok) => err(format!("unexpected {}", describe(&tok))),
            None => err("unexpected end of expression"),
        }
    }

    /// Parses `a, b, …)` after a function's opening parenthesis.
    fn arguments(&mut self) -> Result<Vec<f64>, ExprError> {
        let mut args = vec![self.expr()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            args.push(self.expr()?);
        }
        self.expect_token(&Token::RParen)?;
        Ok(args)
    }
}

fn constant(name: &str) -> Result<f64, ExprError> {
    match name {
        "pi" => Ok(std::f64::consts::PI),
        "e" => Ok(std::f64::consts::E),
        "tau" => Ok(std::f64::consts::TAU),
        _ => err(format!(
            "unknown name '{name}' (variables are not supported)"
        )),
    }
}

fn call(name: &str, args: &[f64]) -> Result<f64, ExprError> {
    let one = |f: fn(f64) -> f64| match args {
        [x] => Ok(f(*x)),
        _ => err(format!("{name}() takes one argument")),
    };
    match name {
        "sqrt" => match args {
            [x] if *x < 0.0 => err("square root of a negative number"),
            _ => one(f64::sqrt),
        },
        "ln" | "log" | "log10" | "log2" => {
            if args.iter().any(|x| *x <= 0.0) {
                return err(format!("{name}() needs positive arguments"));
            }
            match (name, args) {
                ("log", [x, base]) if *base != 1.0 => Ok(x.ln() / base.ln()),
                ("log", [_, _]) => err("log() base must not be 1"),
                ("ln", _) => one(f64::ln),
                ("log2", _) => one(f64::log2),
                _ => one(f64::log10),
            }
        }
        "abs" => one(f64::abs),
        "round" => one(f64::round),
        "floor" => one(f64::floor),
        "ceil" => one(f64::ceil),
        "exp" => one(f64::exp),
        "sin" => one(f64::sin),
        "cos" => one(f64::cos),
        "tan" => one(f64::tan),
        "pow" => match args {
            [b, e] => Ok(b.powf(*e)),
            _ => err("pow() takes two arguments"),
        },
        "min" => Ok(args.iter().copied().fold(f64::INFINITY, f64::min)),
        "max" => Ok(args.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        _ => err(format!("unknown function '{name}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(s: &str) -> f64 {
        evaluate(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("2 + 3 * 4"), 14.0);
        assert_eq!(eval("(2 + 3) * 4"), 20.0);
        assert_eq!(eval("10 - 4 - 3"), 3.0);
        assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(eval("-2 ^ 2"), -4.0);
        assert_eq!(eval("2 ^ -1"), 0.5);
        assert_eq!(eval("2 ** 10"), 1024.0);
        assert_eq!(eval("17 % 5 * 2"), 4.0);
        assert_eq!(eval("--3"), 3.0);
        assert_eq!(eval("1.5e3 + .5"), 1500.5);
    }

    #[test]
    fn functions_and_constants() {
        assert_eq!(eval("sqrt(16) + abs(-2)"), 6.0);
        assert_eq!(eval("max(1, 7, 3) - min(4, 2)"), 5.0);
        assert_eq!(eval("round(2.5) + floor(1.9) + ceil(1.1)"), 6.0);
        assert_eq!(eval("log(1000)"), 3.0);
        assert_eq!(eval("log(8, 2)"), 3.0);
        assert!((eval("ln(e)") - 1.0).abs() < 1e-12);
        assert!((eval("sin(pi / 2)") - 1.0).abs() < 1e-12);
        assert!((eval("cos(0)") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn errors_are_reported() {
        for bad in [
            "",
            "1 / 0",
            "5 % 0",
            "2 +",
            "(1 + 2",
            "1 + 2)",
            "x + 1",
            "foo(1)",
            "sqrt(-1)",
            "ln(0)",
            "1 2",
            "2 $ 3",
            "sqrt(1, 2)",
            "10 ^ 400",
            "1..2",
        ] {
            assert!(evaluate(bad).is_err(), "{bad:?} should fail");
        }
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(evaluate(&deep).is_err());
        assert!(evaluate(&"-".repeat(500)).is_err());
        assert!(evaluate(&"1+".repeat(600)).is_err());
    }
}
