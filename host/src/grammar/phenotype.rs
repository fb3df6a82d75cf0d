//! The decoded form of a genotype: a list of `key:value` tokens (`layer:conv out_channels:32 ...`).
//! A bare terminal of a grammar (`+`) is a token with an empty value and prints as its key
//! alone; network phenotypes are read back only as `key:value` tokens.
//!
//! Values print so that they parse back to the same value: integers as digits, floats always
//! with a `.` or an exponent (`0.5`, `1.0`, `1e-7`), lists comma-separated. A phenotype
//! serialises (serde) as its text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value in a phenotype or an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer (`32`).
    Int(i64),
    /// A float (`0.5`, `1.0`, `1e-7`).
    Float(f64),
    /// Anything else (`conv`, `True`, `_`).
    Text(String),
    /// Several values (attributes with a count above 1): `1,2,3`.
    List(Vec<Value>),
}

impl Value {
    /// Reads a value the way [`fmt::Display`] writes it.
    pub fn parse(text: &str) -> Value {
        if text.contains(',') {
            return Value::List(text.split(',').map(Value::parse_scalar).collect());
        }
        Value::parse_scalar(text)
    }

    fn parse_scalar(text: &str) -> Value {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Int(n);
        }
        let looks_float = text.contains(['.', 'e', 'E']) || matches!(text, "inf" | "-inf" | "NaN");
        match text.parse::<f64>() {
            Ok(x) if looks_float => Value::Float(x),
            _ => Value::Text(text.to_string()),
        }
    }

    /// The value as a float (ints convert), if numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(n) => Some(n as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            // Debug always writes a `.` or an exponent and the shortest text that reads back.
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Text(s) => f.write_str(s),
            Value::List(values) => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

/// One `key:value` token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The key (`layer`, `out_channels`).
    pub key: String,
    /// The value.
    pub value: Value,
}

/// A phenotype that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phenotype token {index} `{token}` is not `key:value`")]
pub struct PhenotypeError {
    /// 0-based index of the token.
    pub index: usize,
    /// The token as written.
    pub token: String,
}

/// A decoded genotype: tokens in derivation order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Phenotype {
    /// The tokens.
    pub tokens: Vec<Token>,
}

impl Phenotype {
    /// The value of the first token with this key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.tokens.iter().find(|t| t.key == key).map(|t| &t.value)
    }
}

impl fmt::Display for Phenotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match &token.value {
                Value::Text(text) if text.is_empty() => f.write_str(&token.key)?,
                value => write!(f, "{}:{value}", token.key)?,
            }
        }
        Ok(())
    }
}

impl FromStr for Phenotype {
    type Err = PhenotypeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let tokens = text
            .split_whitespace()
            .enumerate()
            .map(|(index, token)| match token.split_once(':') {
                Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                    Ok(Token { key: key.to_string(), value: Value::parse(value) })
                }
                _ => Err(PhenotypeError { index, token: token.to_string() }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Phenotype { tokens })
    }
}

impl From<Phenotype> for String {
    fn from(phenotype: Phenotype) -> String {
        phenotype.to_string()
    }
}

impl TryFrom<String> for Phenotype {
    type Error = PhenotypeError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_and_read_back() {
        for value in [
            Value::Int(32),
            Value::Int(-3),
            Value::Float(1.0),
            Value::Float(1e-7),
            Value::Float(0.123_456_789_012_345_67),
            Value::Text("True".into()),
            Value::Text("_".into()),
            Value::List(vec![Value::Int(1), Value::Float(2.5)]),
        ] {
            assert_eq!(Value::parse(&value.to_string()), value, "{value}");
        }
    }

    #[test]
    fn phenotype_text_and_json_round_trip() {
        let text = "layer:conv out_channels:32 kernel_size:3 padding:same rate:0.25 bias:True";
        let phenotype: Phenotype = text.parse().expect("parses");
        assert_eq!(phenotype.to_string(), text);
        assert_eq!(phenotype.get("out_channels"), Some(&Value::Int(32)));
        let json = serde_json::to_string(&phenotype).expect("serialises");
        assert_eq!(json, format!("\"{text}\""));
        let back: Phenotype = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, phenotype);
        let err = "layer:conv oops".parse::<Phenotype>().expect_err("bad token");
        assert_eq!(err.index, 1);
    }
}
