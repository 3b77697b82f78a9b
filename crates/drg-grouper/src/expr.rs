//! Parser for the small expression language that `rules.json` keeps from the upstream grouper
//! source (`true && adrg_zd.includes(record.zdList[0]) && record.ageDay<=28`, …). The result is a
//! generic syntax tree; [`crate::compile`] turns it into the typed condition AST.

use std::fmt;

/// A parsed expression: the JavaScript subset the rule data uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Bool(bool),
    Int(i64),
    Str(String),
    Array(Vec<Expr>),
    Ident(String),
    /// `target.name`
    Member(Box<Expr>, String),
    /// `target[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `callee(args…)`
    Call(Box<Expr>, Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
}

/// Comparison operators (`==` and `===` are the same here: the data only compares like types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// `left op right` on integers.
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Why an expression could not be parsed; `offset` is a byte offset into the expression text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Int(i64),
    Str(String),
    Punct(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "`{s}`"),
            Token::Int(n) => write!(f, "`{n}`"),
            Token::Str(s) => write!(f, "\"{s}\""),
            Token::Punct(p) => write!(f, "`{p}`"),
        }
    }
}

const PUNCTS: [&str; 16] = [
    "===", "!==", "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", "[", "]", ",",
];

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let b = bytes[pos];
        if b.is_ascii_whitespace() {
            pos += 1;
        } else if b == b'.' {
            tokens.push((pos, Token::Punct(".")));
            pos += 1;
        } else if b.is_ascii_digit() {
            let start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            let value = text[start..pos].parse().map_err(|_| ParseError {
                offset: start,
                message: "integer out of range".into(),
            })?;
            tokens.push((start, Token::Int(value)));
        } else if b == b'"' || b == b'\'' {
            let (end, value) = read_string(text, pos)?;
            tokens.push((pos, Token::Str(value)));
            pos = end;
        } else if b.is_ascii_alphabetic() || b == b'_' || b == b'$' {
            let start = pos;
            while pos < bytes.len()
                && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_' || bytes[pos] == b'$')
            {
                pos += 1;
            }
            tokens.push((start, Token::Ident(text[start..pos].to_string())));
        } else {
            let punct = PUNCTS
                .iter()
                .find(|p| text[pos..].starts_with(**p))
                .ok_or_else(|| ParseError {
                    offset: pos,
                    message: format!(
                        "unexpected character `{}`",
                        text[pos..].chars().next().unwrap_or('?')
                    ),
                })?;
            tokens.push((pos, Token::Punct(punct)));
            pos += punct.len();
        }
    }
    Ok(tokens)
}

fn read_string(text: &str, start: usize) -> Result<(usize, String), ParseError> {
    let quote = text.as_bytes()[start];
    let rest = &text[start + 1..];
    match rest.bytes().position(|b| b == quote) {
        Some(len) => {
            let value = &rest[..len];
            if value.contains('\\') {
                return Err(ParseError {
                    offset: start,
                    message: "escapes in strings are not supported".into(),
                });
            }
            Ok((start + 1 + len + 1, value.to_string()))
        }
        None => Err(ParseError {
            offset: start,
            message: "unterminated string".into(),
        }),
    }
}

/// Parses one expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        len: text.len(),
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some((offset, token)) => Err(ParseError {
            offset: *offset,
            message: format!("unexpected {token} after the expression"),
        }),
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek_punct(&self, punct: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some((_, Token::Punct(p))) if *p == punct)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.peek_punct(punct);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, punct: &str) -> Result<(), ParseError> {
        if self.eat(punct) {
            Ok(())
        } else {
            Err(self.error(format!("expected `{punct}`")))
        }
    }

    fn error(&self, message: String) -> ParseError {
        let offset = self.tokens.get(self.pos).map_or(self.len, |(o, _)| *o);
        let found = self
            .tokens
            .get(self.pos)
            .map_or("end of text".to_string(), |(_, t)| t.to_string());
        ParseError {
            offset,
            message: format!("{message}, found {found}"),
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.comparison()?;
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.unary()?;
        let ops = [
            ("===", CmpOp::Eq),
            ("!==", CmpOp::Ne),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        for (symbol, op) in ops {
            if self.eat(symbol) {
                let right = self.unary()?;
                return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.primary()?;
        loop {
            if self.eat(".") {
                match self.tokens.get(self.pos) {
                    Some((_, Token::Ident(name))) => {
                        expr = Expr::Member(Box::new(expr), name.clone());
                        self.pos += 1;
                    }
                    _ => return Err(self.error("expected a property name after `.`".into())),
                }
            } else if self.eat("(") {
                let args = self.list(")")?;
                expr = Expr::Call(Box::new(expr), args);
            } else if self.eat("[") {
                let index = self.or()?;
                self.expect("]")?;
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn list(&mut self, close: &str) -> Result<Vec<Expr>, ParseError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.or()?);
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some((_, token)) = self.tokens.get(self.pos).cloned() else {
            return Err(self.error("expected an operand".into()));
        };
        self.pos += 1;
        match token {
            Token::Int(n) => Ok(Expr::Int(n)),
            Token::Str(s) => Ok(Expr::Str(s)),
            Token::Ident(name) => Ok(match name.as_str() {
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                _ => Expr::Ident(name),
            }),
            Token::Punct("(") => {
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Punct("[") => Ok(Expr::Array(self.list("]")?)),
            Token::Punct(_) => {
                self.pos -= 1;
                Err(self.error("expected an operand".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(name: &str) -> Box<Expr> {
        Box::new(Expr::Ident(name.into()))
    }

    #[test]
    fn parses_precedence_and_postfix() {
        let e = parse("a || b && !c.includes(d[0])").unwrap();
        let call = Expr::Call(
            Box::new(Expr::Member(ident("c"), "includes".into())),
            vec![Expr::Index(ident("d"), Box::new(Expr::Int(0)))],
        );
        let expected = Expr::Or(
            ident("a"),
            Box::new(Expr::And(ident("b"), Box::new(Expr::Not(Box::new(call))))),
        );
        assert_eq!(e, expected);
    }

    #[test]
    fn parses_comparisons_strings_and_arrays() {
        let e = parse(r#"record.gender=="1" && intersect(x,["a","b"])"#).unwrap();
        let Expr::And(left, right) = e else {
            panic!("not an and: {e:?}")
        };
        assert_eq!(
            *left,
            Expr::Cmp(
                CmpOp::Eq,
                Box::new(Expr::Member(ident("record"), "gender".into())),
                Box::new(Expr::Str("1".into()))
            )
        );
        assert_eq!(
            *right,
            Expr::Call(
                ident("intersect"),
                vec![
                    Expr::Ident("x".into()),
                    Expr::Array(vec![Expr::Str("a".into()), Expr::Str("b".into())])
                ]
            )
        );
    }

    #[test]
    fn reports_position_of_errors() {
        assert_eq!(parse("a &&").unwrap_err().offset, 4);
        assert_eq!(parse("a # b").unwrap_err().offset, 2);
        assert!(parse("(a").unwrap_err().message.contains("expected `)`"));
        assert!(parse("\"abc").unwrap_err().message.contains("unterminated"));
        assert!(parse("a b")
            .unwrap_err()
            .message
            .contains("after the expression"));
    }
}
