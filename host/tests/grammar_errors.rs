//! Malformed grammars: every error names the file, the line (and column) and the problem.

use wattevo::grammar::parse::parse;
use wattevo::grammar::{GrammarError, GrammarErrorKind};

const GOOD: &str = "<a> ::= layer:x <b>\n<b> ::= [n,int,1,1,4] | k:v\n";

/// Parses `text` as `bad.grammar` and returns the error, which must exist.
fn error(text: &str) -> GrammarError {
    parse(text, "bad.grammar").expect_err("a malformed grammar must be rejected")
}

/// The message starts with `bad.grammar:LINE:` and mentions `needle`.
fn assert_message(err: &GrammarError, line: usize, needle: &str) {
    let message = err.to_string();
    assert!(message.starts_with(&format!("bad.grammar:{line}:")), "wrong place: {message}");
    assert!(message.contains(needle), "`{needle}` missing from: {message}");
}

#[test]
fn a_good_grammar_parses() {
    let grammar = parse(GOOD, "good.grammar").expect("valid");
    assert_eq!(grammar.rules.len(), 2);
}

#[test]
fn unknown_symbol() {
    let err = error("# header\n<a> ::= layer:x <b>\n<b> ::= k:v | <missing>\n");
    assert_eq!(err.kind, GrammarErrorKind::UnknownSymbol("missing".into()));
    assert_eq!(err.column, 15);
    assert_message(&err, 3, "unknown symbol `<missing>`");
}

#[test]
fn bad_attributes() {
    let cases = [
        ("<a> ::= [n,double,1,0,5]\n", "unknown type `double`"),
        ("<a> ::= [n,int,1,0]\n", "expected 5 fields"),
        ("<a> ::= [n,int,1,0,5,7]\n", "expected 5 fields"),
        ("<a> ::= [n,int,1,zero,5]\n", "unparseable number `zero`"),
        ("<a> ::= [n,int,1,0,2.5]\n", "unparseable number `2.5`"),
        ("<a> ::= [n,float,1,0,lots]\n", "unparseable number `lots`"),
        ("<a> ::= [n,int,0,0,5]\n", "not a positive integer"),
    ];
    for (text, needle) in cases {
        let err = error(&format!("<z> ::= k:v\n{text}"));
        assert!(matches!(err.kind, GrammarErrorKind::BadAttribute { .. }), "{err}");
        assert_eq!(err.column, 9, "{err}");
        assert_message(&err, 2, needle);
    }
}

#[test]
fn min_above_max() {
    let err = error("<a> ::= k:v\n\n<b> ::= layer:x [rate,float,1,0.7,0.1]\n");
    assert!(matches!(err.kind, GrammarErrorKind::MinAboveMax { .. }));
    assert_eq!(err.column, 17);
    assert_message(&err, 3, "min 0.7 > max 0.1");
}

#[test]
fn unterminated_rules() {
    let err = error("<a> ::= k:v |\n");
    assert_message(&err, 1, "unterminated rule: the rule ends with `|`");
    let err = error("<a> ::= k:v\n<b> ::=   # nothing\n");
    assert_message(&err, 2, "unterminated rule: no alternatives after `::=`");
    let err = error("<a> ::= k:v\n<b> ::= [n,int,1,0,5\n");
    assert_message(&err, 2, "unterminated `[`");
    let err = error("<a> ::= <b\n");
    assert_message(&err, 1, "unterminated `<`");
}

#[test]
fn missing_arrow_and_bad_left_side() {
    let err = error("<a> ::= k:v\n<b> k:v | l:w\n");
    assert_eq!(err.kind, GrammarErrorKind::MissingArrow);
    assert_message(&err, 2, "missing `::=`");
    let err = error("<a> <b> ::= k:v\n");
    assert_message(&err, 1, "left side of `::=` must be one `<symbol>`");
}

#[test]
fn duplicate_rule_and_empty_alternative() {
    let err = error("<a> ::= k:v\n<a> ::= k:w\n");
    assert_message(&err, 2, "duplicate rule for `<a>` (first defined on line 1)");
    let err = error("<a> ::= k:v | | k:w\n");
    assert_eq!(err.column, 15);
    assert_message(&err, 1, "empty alternative");
}

#[test]
fn terminals_need_both_a_key_and_a_value() {
    // a bare word is a terminal of the reference's dialect; a lone `:` side is not
    parse("<a> ::= layer:x conv\n", "ok.grammar").expect("a bare terminal");
    let err = error("<a> ::= layer:x :conv\n");
    assert_eq!(err.column, 17);
    assert_message(&err, 1, "terminal `:conv` is not `key:value`");
}

#[test]
fn empty_grammar() {
    let err = error("# only a comment\n\n");
    assert_eq!(err.kind, GrammarErrorKind::Empty);
}
