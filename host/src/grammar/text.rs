//! A parsed grammar written back as grammar text, one rule per line in the reference's own
//! notation (`<symbol> ::= alt | alt`, attributes as `[name,type,count,min,max]`), so that
//! `wattevo grammar check` shows what was understood.

use std::fmt;

use super::{AttrKind, Attribute, Bound, Grammar, Item, Production, Value};

impl AttrKind {
    /// The type's name in grammar text.
    pub fn name(self) -> &'static str {
        match self {
            AttrKind::Int => "int",
            AttrKind::Float => "float",
            AttrKind::IntPower2 => "int_power2",
            AttrKind::InvPower2 => "inv_power2",
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Fixed(x) => write!(f, "{x}"),
            Bound::Dynamic => f.write_str("_"),
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{},{},{},{}]", self.name, self.kind.name(), self.count, self.min, self.max)
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::NonTerminal(name) => write!(f, "<{name}>"),
            Item::Terminal { key, value: Value::Text(text) } if text.is_empty() => f.write_str(key),
            Item::Terminal { key, value } => write!(f, "{key}:{value}"),
            Item::Attribute(attr) => write!(f, "{attr}"),
        }
    }
}

impl fmt::Display for Production {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.items.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(" "))
    }
}

impl fmt::Display for Grammar {
    /// The rules in name order, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (symbol, productions) in &self.rules {
            let alternatives: Vec<String> = productions.iter().map(ToString::to_string).collect();
            writeln!(f, "<{symbol}> ::= {}", alternatives.join(" | "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Bundled, parse::parse};
    use super::*;

    #[test]
    fn written_grammars_parse_back_to_the_same_rules() {
        for which in Bundled::ALL {
            let grammar = Grammar::bundled(which).expect("parses");
            let again = parse(&grammar.to_string(), "again").expect("its own text parses");
            assert_eq!(again.rules, grammar.rules, "{which:?}");
        }
        let reference = "<e> ::= ( <e> ) | X | [n,int_power2,1,5,12]\n";
        let grammar = parse(reference, "r").expect("parses");
        assert_eq!(grammar.to_string(), "<e> ::= ( <e> ) | X | [n,int_power2,1,5,12]\n");
    }
}
