//! Page numbers for lists: page size choice (20/50/100), first/prev/next/last/jump, total count.
//! Links keep every other query parameter (the filters) as they were.

pub const PAGE_SIZES: &[i64] = &[20, 50, 100];

#[derive(Clone, Debug)]
pub struct Pager {
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    /// `total` is a floor: counting stopped there (see `list::Total::UpTo`).
    pub at_least: bool,
    /// The request's query string without `page` (and `per_page`), for building links.
    base: String,
}

impl Pager {
    /// `raw_query` is the request's query string; `page`/`per_page` are clamped to sane values.
    pub fn new(raw_query: Option<&str>, page: Option<i64>, per_page: Option<i64>, total: i64) -> Pager {
        let per_page = per_page.filter(|p| PAGE_SIZES.contains(p)).unwrap_or(PAGE_SIZES[0]);
        let pages = ((total + per_page - 1) / per_page).max(1);
        let page = page.unwrap_or(1).clamp(1, pages);
        let base = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
                    .filter(|(k, _)| k != "page" && k != "per_page"),
            )
            .finish();
        Pager { page, per_page, total, at_least: false, base }
    }

    /// Read `page` and `per_page` straight from the query string.
    pub fn from_query(raw_query: Option<&str>, total: i64) -> Pager {
        let get = |name: &str| {
            form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<i64>().ok())
        };
        Pager::new(raw_query, get("page"), get("per_page"), total)
    }

    /// Mark the total as a floor ("1,000+").
    pub fn capped(mut self, at_least: bool) -> Pager {
        self.at_least = at_least;
        self
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn limit(&self) -> i64 {
        self.per_page
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }

    pub fn href(&self, page: i64) -> String {
        let mut q = self.base.clone();
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(&format!("page={page}&per_page={}", self.per_page));
        format!("?{q}")
    }

    /// Hidden inputs that carry the filters through the jump / page-size form.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.base.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    pub fn total_display(&self) -> String {
        let n = super::format::thousands(self.total);
        if self.at_least { format!("{n}+") } else { n }
    }

    pub fn sizes(&self) -> &'static [i64] {
        PAGE_SIZES
    }

    /// Row range shown, e.g. (21, 40).
    pub fn range(&self) -> (i64, i64) {
        if self.total == 0 {
            return (0, 0);
        }
        (self.offset() + 1, (self.offset() + self.per_page).min(self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::Pager;

    #[test]
    fn clamps_and_keeps_filters() {
        let p = Pager::from_query(Some("q=%E5%BC%A0&page=9&per_page=50"), 120);
        assert_eq!((p.page, p.per_page, p.pages()), (3, 50, 3));
        assert_eq!(p.href(2), "?q=%E5%BC%A0&page=2&per_page=50");
        assert_eq!(p.range(), (101, 120));
        let p = Pager::from_query(Some("per_page=7"), 0);
        assert_eq!((p.page, p.per_page, p.pages()), (1, 20, 1));
    }
}
