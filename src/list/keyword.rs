//! The keyword filter of every list, picker and the top bar's search, shaped so that an index
//! answers it at a million rows.
//!
//! A keyword of three characters or more is a substring match on the module's one
//! trigram-indexed `search` column (names, codes, phones, e-mail...). Trigrams need three
//! characters: a shorter term gives the trigram index nothing to look up, and Postgres then
//! reads the whole index — seconds at a million rows. So a two-character term ("华信", "张伟")
//! looks up the character pairs of the module's names in its bigram index instead (migrations
//! 0013 and 0021); such a short term is only ever meant as a name. A single character matches
//! too much to be a search: it filters nothing in, and the page says why next to the field.

use sqlx::{Postgres, QueryBuilder};

/// Where a module's keyword looks. Every string is a code constant, never user input.
pub struct KeywordSql {
    /// The trigram-indexed column that holds everything a keyword may match, e.g. `c.search`.
    pub search: &'static str,
    /// The expression the module's bigram index is built on, e.g. `name_bigrams(c.name)`.
    pub bigrams: &'static str,
    /// The name columns a two-character term is rechecked against (cheap, row by row).
    pub names: &'static [&'static str],
}

/// Keywords shorter than this are refused (see the module comment).
pub const MIN_CHARS: usize = 2;

/// True when `keyword` is given but too short to search for: the page shows `list.keyword_too_short`.
pub fn too_short(keyword: &str) -> bool {
    let n = keyword.trim().chars().count();
    n > 0 && n < MIN_CHARS
}

impl KeywordSql {
    /// ` AND <keyword matches>`, or nothing for an empty keyword.
    pub fn push(&self, q: &mut QueryBuilder<'_, Postgres>, keyword: &str) {
        let kw = keyword.trim();
        let like = format!("%{}%", crate::fields::escape_like(kw));
        // Digits and Chinese have no case: LIKE finds the same rows as ILIKE, and rechecking the
        // candidates the index returns is cheaper without case folding.
        let op = if kw.to_lowercase() == kw.to_uppercase() { "LIKE" } else { "ILIKE" };
        match kw.chars().count() {
            0 => {}
            n if n < MIN_CHARS => {
                q.push(" AND FALSE");
            }
            2 => {
                q.push(format_args!(" AND {} @> ARRAY[", self.bigrams)).push_bind(kw.to_lowercase()).push("]::text[]");
                // The pair index finds names holding both characters side by side; the ILIKE
                // says the same row by row, which the planner tests first where it walks rows.
                q.push(" AND (");
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        q.push(" OR ");
                    }
                    q.push(format_args!("{name} {op} ")).push_bind(like.clone());
                }
                q.push(")");
            }
            _ => {
                q.push(format_args!(" AND {} {op} ", self.search)).push_bind(like);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeywordSql, too_short};

    const K: KeywordSql =
        KeywordSql { search: "t.search", bigrams: "name_bigrams(t.name)", names: &["t.name", "t.alias"] };

    fn sql(kw: &str) -> String {
        let mut q = sqlx::QueryBuilder::new("SELECT 1 WHERE TRUE");
        K.push(&mut q, kw);
        q.sql().to_string()
    }

    #[test]
    fn each_length_takes_its_index() {
        assert_eq!(sql("  "), "SELECT 1 WHERE TRUE");
        assert_eq!(sql("华"), "SELECT 1 WHERE TRUE AND FALSE");
        assert_eq!(
            sql("华信"),
            "SELECT 1 WHERE TRUE AND name_bigrams(t.name) @> ARRAY[$1]::text[] AND (t.name LIKE $2 OR t.alias LIKE $3)"
        );
        assert_eq!(sql("华信科技"), "SELECT 1 WHERE TRUE AND t.search LIKE $1");
        assert_eq!(sql("1388"), "SELECT 1 WHERE TRUE AND t.search LIKE $1");
        assert_eq!(sql("Acme"), "SELECT 1 WHERE TRUE AND t.search ILIKE $1");
        assert_eq!(
            sql("ab"),
            "SELECT 1 WHERE TRUE AND name_bigrams(t.name) @> ARRAY[$1]::text[] AND (t.name ILIKE $2 OR t.alias ILIKE $3)"
        );
        assert!(too_short("张") && !too_short("") && !too_short("张伟"));
    }
}
