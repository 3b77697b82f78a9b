//! Whether a JSON text is byte for byte how `serde_json` writes the [`serde_json::Value`] it parses
//! to: compact, object keys in ascending byte order without repeats, strings without escapes,
//! integers of at most [`INTEGER_MAX_DIGITS`] digits, no fractions or exponents. A message's digest
//! is taken over that serialisation ([`super::Request::digest`]); for such a text it is the text
//! itself, so the received bytes can be hashed instead of serialising the parsed value again.
//!
//! The check is conservative: a text it refuses may still be canonical (an escaped quote, a
//! float); the digest is then taken over the serialisation as before. A text it accepts is always
//! canonical (`tests` below check this against `serde_json` on generated texts).

/// Most digits of an accepted integer: every such integer fits `i64` and `u64`, which
/// `serde_json` parses it into and writes back unchanged.
const INTEGER_MAX_DIGITS: usize = 18;

/// Deepest nesting accepted (`serde_json` parses no deeper than 128 levels).
const DEPTH_MAX: usize = 128;

/// Whether `text` is exactly the `serde_json` serialisation of the value it parses to (see the
/// module documentation); `false` also for a text that is not JSON.
pub fn is_canonical(text: &str) -> bool {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    reader.value(0) && reader.at == reader.bytes.len()
}

/// A position in the text being checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// Consumes `literal` if it is next.
    fn literal(&mut self, literal: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > DEPTH_MAX {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    /// An object whose keys ascend strictly (as a `serde_json` map iterates them).
    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            let Some(key) = self.string() else {
                return false;
            };
            if previous.is_some_and(|previous| previous >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string without escapes or control characters; returns its contents.
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let bytes = self.bytes;
        let length = bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.at = start + length;
        if !self.eat(b'"') {
            return None;
        }
        Some(&bytes[start..start + length])
    }

    /// `0`, or a non-zero integer without leading zeros of at most [`INTEGER_MAX_DIGITS`] digits.
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        let digits = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at = start + digits;
        let canonical = match (digits, self.bytes.get(start)) {
            (0, _) => false,
            (1, Some(b'0')) => !negative,
            (_, Some(b'0')) => false,
            _ => digits <= INTEGER_MAX_DIGITS,
        };
        canonical && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// A JSON text from parts that `serde_json` may or may not write this way: keys in any order
    /// (repeats included), strings with escapes and non-ASCII text, numbers in several forms,
    /// optional whitespace.
    fn json_text() -> impl Strategy<Value = String> {
        let string = prop_oneof![
            "[a-c]{0,3}",
            Just("号".to_string()),
            Just("a\\\"b".to_string()),
            Just("\\u0041".to_string()),
            Just("\\n".to_string()),
            Just("/".to_string()),
        ]
        .prop_map(|s| format!("\"{s}\""));
        let number = prop_oneof![
            Just("0"),
            Just("-0"),
            Just("7"),
            Just("-12"),
            Just("1.5"),
            Just("1.50"),
            Just("100.0"),
            Just("1e2"),
            Just("123456789012345678"),
            Just("1234567890123456789"),
            Just("99999999999999999999"),
            Just("-9223372036854775808"),
        ]
        .prop_map(str::to_string);
        let leaf = prop_oneof![
            string.clone(),
            number,
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
        ];
        let space = prop_oneof![3 => Just(""), 1 => Just(" "), 1 => Just("\n")];
        leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..4), space.clone())
                    .prop_map(|(items, space)| format!("[{}]", items.join(&format!(",{space}")))),
                (
                    prop::collection::vec((string.clone(), inner), 0..4),
                    space.clone()
                )
                    .prop_map(|(fields, space)| {
                        let fields: Vec<String> = fields
                            .into_iter()
                            .map(|(key, value)| format!("{key}:{space}{value}"))
                            .collect();
                        format!("{{{}}}", fields.join(","))
                    }),
            ]
        })
    }

    /// Whether `serde_json` writes `value` without escapes, fractions, exponents or integers of
    /// more than [`INTEGER_MAX_DIGITS`] digits.
    fn plain(value: &Value) -> bool {
        let plain_text = |text: &str| !text.chars().any(|c| c == '"' || c == '\\' || c < ' ');
        match value {
            Value::Number(number) => {
                !number.is_f64()
                    && number.to_string().trim_start_matches('-').len() <= INTEGER_MAX_DIGITS
            }
            Value::String(text) => plain_text(text),
            Value::Array(items) => items.iter().all(plain),
            Value::Object(fields) => fields
                .iter()
                .all(|(key, item)| plain_text(key) && plain(item)),
            Value::Null | Value::Bool(_) => true,
        }
    }

    proptest! {
        /// Every text accepted is what `serde_json` writes for the value it parses to.
        #[test]
        fn an_accepted_text_is_the_serialisation_of_its_value(text in json_text()) {
            let value: Value = serde_json::from_str(&text).unwrap();
            if is_canonical(&text) {
                prop_assert_eq!(serde_json::to_string(&value).unwrap(), text);
            }
        }

        /// The serialisation of a value without escapes or fractions is accepted.
        #[test]
        fn a_serialisation_without_escapes_or_fractions_is_accepted(text in json_text()) {
            let value: Value = serde_json::from_str(&text).unwrap();
            let written = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(is_canonical(&written), plain(&value), "{}", written);
        }
    }

    proptest! {
        /// A parsed request's digest is the digest over its serialised `input`, whether it was
        /// taken over the received bytes or not; it is taken over them whenever they are canonical.
        #[test]
        fn a_requests_digest_is_that_of_its_serialised_input(
            fields in prop::collection::vec(("[a-d]{1,2}", json_text()), 0..5),
            space in prop_oneof![Just(""), Just(" ")],
        ) {
            let fields: Vec<String> =
                fields.iter().map(|(key, value)| format!("\"{key}\":{space}{value}")).collect();
            let input = format!("{{{}}}", fields.join(","));
            let body = format!(
                r#"{{"infno":"2204","msgid":"1","fixmedins_code":"H1","mdtrtarea_admvs":"360400","input":{input}}}"#
            );
            let request = super::super::Request::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(request.received_digest.is_some(), is_canonical(&input));
            prop_assert_eq!(request.digest(), request.serialised_digest());
        }
    }

    #[test]
    fn refuses_what_serde_json_writes_otherwise() {
        for text in [
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":2}",
            "{\"a\": 1}",
            " {}",
            "{} ",
            "[1,2,]",
            "1.0",
            "-0",
            "01",
            "\"a\\\"b\"",
            "1234567890123456789",
            "{\"a\"}",
            "tru",
            "",
        ] {
            assert!(!is_canonical(text), "{text}");
        }
        for text in [
            "{}",
            "[]",
            "{\"a\":[1,-2,0,true,false,null],\"b\":{\"c\":\"号\"}}",
            "123456789012345678",
        ] {
            assert!(is_canonical(text), "{text}");
        }
    }
}
