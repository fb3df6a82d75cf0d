//! Grammar text → [`Grammar`], with errors that say where (file, line, column) and what.
//!
//! One rule per line: `<symbol> ::= alt | alt`. Items are separated by white space; an attribute
//! `[...]` may contain spaces. `#` starts a comment that runs to the end of the line; blank
//! lines are ignored. After all rules are read, every `<symbol>` used must have a rule.
//!
//! The reference code's grammars parse unchanged: its attribute types `int_power2` and
//! `inv_power2`, and bare terminals without `:` (`+`, `(`, `X`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{AttrKind, Attribute, Bound, Grammar, Item, Production, Value};

/// What is wrong with a grammar.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrammarErrorKind {
    /// The file could not be read.
    #[error("cannot read the grammar: {0}")]
    Io(String),
    /// A line that is not a rule.
    #[error("missing `::=`: a rule is written `<symbol> ::= alternative | alternative`")]
    MissingArrow,
    /// The left side is not a single `<symbol>`.
    #[error("the left side of `::=` must be one `<symbol>`, found `{0}`")]
    BadLeftSide(String),
    /// Nothing after `::=`, or a trailing `|`.
    #[error("unterminated rule: {0}")]
    UnterminatedRule(&'static str),
    /// `<` or `[` without its closing bracket.
    #[error("unterminated `{0}`: no closing `{1}` on this line")]
    UnclosedBracket(char, char),
    /// `a | | b`.
    #[error("empty alternative between two `|`")]
    EmptyAlternative,
    /// A terminal that cannot be read (`<>`, `:x`, `x:`).
    #[error("terminal `{0}` is not `key:value`, a bare word or a `<symbol>`")]
    BadTerminal(String),
    /// An attribute that cannot be read.
    #[error("bad attribute `{text}`: {problem}")]
    BadAttribute {
        /// The attribute as written.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `min > max`.
    #[error("attribute `{name}`: min {min} > max {max}")]
    MinAboveMax {
        /// Attribute name.
        name: String,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// A second rule for the same symbol.
    #[error("duplicate rule for `<{name}>` (first defined on line {first_line})")]
    DuplicateRule {
        /// The symbol.
        name: String,
        /// Line of the first rule.
        first_line: usize,
    },
    /// A `<symbol>` with no rule.
    #[error("unknown symbol `<{0}>`: no rule defines it")]
    UnknownSymbol(String),
    /// A grammar with no rule at all.
    #[error("the grammar has no rules")]
    Empty,
}

/// A grammar error with its location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {kind}")]
pub struct GrammarError {
    /// File path or `bundled:<name>`.
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// 1-based column in characters (0: the whole line or file).
    pub column: usize,
    /// What is wrong.
    pub kind: GrammarErrorKind,
}

impl GrammarError {
    pub(super) fn io(path: &Path, err: &std::io::Error) -> Self {
        let kind = GrammarErrorKind::Io(err.to_string());
        GrammarError { file: path.display().to_string(), line: 0, column: 0, kind }
    }
}

/// A token of a rule line with its 1-based column.
struct Tok<'a> {
    text: &'a str,
    column: usize,
}

/// Splits a line (comment removed) into tokens: `<...>`, `[...]`, `|`, `::=` or plain words.
fn tokenize(line: &str) -> Result<Vec<Tok<'_>>, (usize, GrammarErrorKind)> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let close = match c {
            '[' => Some(']'),
            '<' => Some('>'),
            _ => None,
        };
        let mut j = i + 1;
        match close {
            Some(close) => {
                while j < chars.len() && chars[j].1 != close {
                    j += 1;
                }
                if j == chars.len() {
                    return Err((column, GrammarErrorKind::UnclosedBracket(c, close)));
                }
                j += 1;
            }
            None if c == '|' => {}
            None => {
                while j < chars.len() && !chars[j].1.is_whitespace() && !matches!(chars[j].1, '|' | '[' | '<') {
                    j += 1;
                }
            }
        }
        let end = chars.get(j).map_or(line.len(), |&(pos, _)| pos);
        tokens.push(Tok { text: &line[start..end], column });
        i = j;
    }
    Ok(tokens)
}

/// Parses a grammar; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Grammar, GrammarError> {
    let err = |line: usize, column: usize, kind| GrammarError { file: file.to_string(), line, column, kind };
    let mut rules: BTreeMap<String, Vec<Production>> = BTreeMap::new();
    let mut defined_on: BTreeMap<String, usize> = BTreeMap::new();
    let mut uses: Vec<(String, usize, usize)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.split('#').next().unwrap_or_default();
        if line.trim().is_empty() {
            continue;
        }
        let tokens = tokenize(line).map_err(|(column, kind)| err(line_no, column, kind))?;
        let (name, productions, line_uses) =
            parse_rule(&tokens).map_err(|(column, kind)| err(line_no, column, kind))?;
        if let Some(&first_line) = defined_on.get(&name) {
            return Err(err(line_no, 1, GrammarErrorKind::DuplicateRule { name, first_line }));
        }
        uses.extend(line_uses.into_iter().map(|(symbol, column)| (symbol, line_no, column)));
        defined_on.insert(name.clone(), line_no);
        rules.insert(name, productions);
    }
    if rules.is_empty() {
        return Err(err(0, 0, GrammarErrorKind::Empty));
    }
    if let Some((symbol, line, column)) = uses.into_iter().find(|(symbol, ..)| !rules.contains_key(symbol)) {
        return Err(err(line, column, GrammarErrorKind::UnknownSymbol(symbol)));
    }
    Ok(Grammar { source: file.to_string(), rules })
}

type RuleParts = (String, Vec<Production>, Vec<(String, usize)>);

/// One rule line → (symbol, alternatives, non-terminals used with their columns).
fn parse_rule(tokens: &[Tok<'_>]) -> Result<RuleParts, (usize, GrammarErrorKind)> {
    let Some(arrow) = tokens.iter().position(|t| t.text == "::=") else {
        return Err((tokens.first().map_or(1, |t| t.column), GrammarErrorKind::MissingArrow));
    };
    let name = match &tokens[..arrow] {
        [tok] if tok.text.starts_with('<') && tok.text.len() > 2 => symbol_name(tok.text).to_string(),
        [] => return Err((1, GrammarErrorKind::BadLeftSide(String::new()))),
        left => {
            let text = left.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
            return Err((left[0].column, GrammarErrorKind::BadLeftSide(text)));
        }
    };
    let body = &tokens[arrow + 1..];
    let arrow_column = tokens[arrow].column;
    if body.is_empty() {
        return Err((arrow_column, GrammarErrorKind::UnterminatedRule("no alternatives after `::=`")));
    }
    let mut productions = Vec::new();
    let mut uses = Vec::new();
    let mut items = Vec::new();
    for (k, tok) in body.iter().enumerate() {
        if tok.text == "|" {
            if k + 1 == body.len() {
                return Err((tok.column, GrammarErrorKind::UnterminatedRule("the rule ends with `|`")));
            }
            if items.is_empty() {
                return Err((tok.column, GrammarErrorKind::EmptyAlternative));
            }
            productions.push(Production { items: std::mem::take(&mut items) });
            continue;
        }
        let item = parse_item(tok.text).map_err(|kind| (tok.column, kind))?;
        if let Item::NonTerminal(symbol) = &item {
            uses.push((symbol.clone(), tok.column));
        }
        items.push(item);
    }
    productions.push(Production { items });
    Ok((name, productions, uses))
}

fn symbol_name(token: &str) -> &str {
    token.trim_start_matches('<').trim_end_matches('>').trim()
}

fn parse_item(text: &str) -> Result<Item, GrammarErrorKind> {
    if text.starts_with('<') {
        let name = symbol_name(text);
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(GrammarErrorKind::BadTerminal(text.to_string()));
        }
        return Ok(Item::NonTerminal(name.to_string()));
    }
    if text.starts_with('[') {
        return parse_attribute(text).map(Item::Attribute);
    }
    match text.split_once(':') {
        Some((key, value)) if !key.is_empty() && !value.is_empty() => {
            Ok(Item::Terminal { key: key.to_string(), value: Value::parse(value) })
        }
        None => Ok(Item::Terminal { key: text.to_string(), value: Value::Text(String::new()) }),
        _ => Err(GrammarErrorKind::BadTerminal(text.to_string())),
    }
}

/// `[name,kind,count,min,max]` → [`Attribute`].
fn parse_attribute(text: &str) -> Result<Attribute, GrammarErrorKind> {
    let bad = |problem: String| GrammarErrorKind::BadAttribute { text: text.to_string(), problem };
    let inner = text.trim_start_matches('[').trim_end_matches(']');
    let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
    let [name, kind, count, min, max] = fields.as_slice() else {
        return Err(bad(format!("expected 5 fields `[name,type,count,min,max]`, found {}", fields.len())));
    };
    if name.is_empty() || name.contains(':') {
        return Err(bad(format!("`{name}` is not a valid attribute name")));
    }
    let kind = match *kind {
        "int" => AttrKind::Int,
        "float" => AttrKind::Float,
        "int_power2" => AttrKind::IntPower2,
        "inv_power2" => AttrKind::InvPower2,
        other => {
            return Err(bad(format!("unknown type `{other}` (expected `int`, `float`, `int_power2` or `inv_power2`)")));
        }
    };
    let count = match count.parse::<usize>() {
        Ok(n) if n > 0 => n,
        _ => return Err(bad(format!("the value count `{count}` is not a positive integer"))),
    };
    let min = parse_bound(min, kind).map_err(&bad)?;
    let max = parse_bound(max, kind).map_err(&bad)?;
    if let (Bound::Fixed(lo), Bound::Fixed(hi)) = (min, max)
        && lo > hi
    {
        return Err(GrammarErrorKind::MinAboveMax { name: name.to_string(), min: lo, max: hi });
    }
    Ok(Attribute { name: name.to_string(), kind, count, min, max })
}

fn parse_bound(text: &str, kind: AttrKind) -> Result<Bound, String> {
    if text == "_" {
        return Ok(Bound::Dynamic);
    }
    match kind {
        AttrKind::Int | AttrKind::IntPower2 | AttrKind::InvPower2 => text
            .parse::<i64>()
            .map(|n| Bound::Fixed(n as f64))
            .map_err(|_| format!("unparseable number `{text}` for an int bound")),
        AttrKind::Float => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Bound::Fixed(x)),
            _ => Err(format!("unparseable number `{text}` for a float bound")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rules_attributes_and_comments() {
        let text = "# a comment\n\n<a> ::= x:1 <b> | [n, int, 1, 0, _] # tail\n<b> ::= [r,float,1,0,0.5] y:True\n";
        let grammar = parse(text, "t.grammar").expect("valid");
        let a = grammar.productions("a").expect("rule a");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].items[0], Item::Terminal { key: "x".into(), value: Value::Int(1) });
        assert_eq!(a[0].items[1], Item::NonTerminal("b".into()));
        let Item::Attribute(n) = &a[1].items[0] else { panic!("attribute expected") };
        assert_eq!((n.kind, n.min, n.max), (AttrKind::Int, Bound::Fixed(0.0), Bound::Dynamic));
        let b = grammar.productions("b").expect("rule b");
        assert_eq!(b[0].items[1], Item::Terminal { key: "y".into(), value: Value::Text("True".into()) });
    }

    #[test]
    fn reads_the_reference_dialect() {
        let text = "<e> ::= <e> <op> <e> | ( <e> ) | X\n<op> ::= + | -\n\
                    <l> ::= [batch_size,int_power2,1,5,12] [lr,inv_power2,1,1,4] epochs:100";
        let grammar = parse(text, "ref.grammar").expect("the reference's dialect");
        let e = grammar.productions("e").expect("rule e");
        assert_eq!(e[1].items[0], Item::Terminal { key: "(".into(), value: Value::Text(String::new()) });
        assert_eq!(e[2].items[0], Item::Terminal { key: "X".into(), value: Value::Text(String::new()) });
        let l = grammar.productions("l").expect("rule l");
        let kinds: Vec<AttrKind> = l[0].attributes().map(|a| a.kind).collect();
        assert_eq!(kinds, [AttrKind::IntPower2, AttrKind::InvPower2]);
        let err = parse("<a> ::= [n,int_power3,1,0,1]\n", "f").expect_err("unknown type");
        assert!(err.to_string().contains("int_power2"), "{err}");
        let err = parse("<a> ::= x:\n", "f").expect_err("empty value");
        assert_eq!(err.kind, GrammarErrorKind::BadTerminal("x:".into()));
    }

    #[test]
    fn columns_count_characters() {
        let err = parse("<a> ::= x:1 | <zz>\n", "f").expect_err("unknown");
        assert_eq!((err.line, err.column), (1, 15));
        assert_eq!(err.kind, GrammarErrorKind::UnknownSymbol("zz".into()));
    }
}
