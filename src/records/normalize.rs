//! How names and contact details people type are stored and compared (duplicate checks, the
//! `name_norm` column): widths folded, spaces and case ignored, phone numbers as digits.

/// Trim, fold full-width ASCII (and the ideographic space) to half-width, lower-case, and drop
/// every space: "  上海ＡＢＣ 科技 " and "上海abc科技" compare equal.
pub fn name(s: &str) -> String {
    s.chars().map(fold_width).filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Digits only (and a leading +): "021-6888 1234" → "02168881234".
pub fn phone(s: &str) -> String {
    let folded: String = s.chars().map(fold_width).collect();
    let trimmed = folded.trim();
    let plus = if trimmed.starts_with('+') { "+" } else { "" };
    format!("{plus}{}", trimmed.chars().filter(|c| c.is_ascii_digit()).collect::<String>())
}

pub fn email(s: &str) -> String {
    s.chars().map(fold_width).collect::<String>().trim().to_lowercase()
}

/// Full-width characters folded to half-width, trimmed: "１３８ ０００" → "138 000".
pub fn fold(s: &str) -> String {
    s.chars().map(fold_width).collect::<String>().trim().to_string()
}

fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_compare_loosely() {
        assert_eq!(super::name("  上海ＡＢＣ　科技 "), "上海abc科技");
        assert_eq!(super::name("Acme Co"), super::name("ACME  co"));
        assert_eq!(super::phone("０２１-6888 1234"), "02168881234");
        assert_eq!(super::phone("+86 138 0000 0000"), "+8613800000000");
        assert_eq!(super::email(" Sales@Example.COM "), "sales@example.com");
    }
}
