//! Rust names for YAML names: `relations_1` -> `Relations1`, `type` -> `r#type`.

use proc_macro2::Span;
use syn::Ident;

/// `CamelCase` from a snake, kebab or mixed name.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            if upper {
                out.extend(ch.to_uppercase());
            } else {
                out.push(ch);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

/// `snake_case` from a name: every character that cannot be in an identifier becomes `_`.
pub fn snake(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof",
    "unsized", "virtual", "yield", "try",
];

/// A field or module identifier for a name, raw (`r#type`) when it is a keyword. `self`,
/// `super`, `Self` and `crate` cannot be raw, so they get a trailing `_`.
pub fn field_ident(name: &str) -> Ident {
    let s = snake(name);
    match s.as_str() {
        "self" | "super" | "crate" | "_" => Ident::new(&format!("{s}_"), Span::call_site()),
        k if KEYWORDS.contains(&k) => Ident::new_raw(k, Span::call_site()),
        _ => Ident::new(&s, Span::call_site()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("relations_1"), "Relations1");
        assert_eq!(camel("index-vehicle"), "IndexVehicle");
        assert_eq!(camel("1x"), "X1x");
        assert_eq!(snake("Order-No"), "order_no");
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "self_");
    }
}
