//! Field-level validation errors, shown next to their fields when a form is re-rendered.

use std::collections::BTreeMap;

use super::i18n::Lang;

#[derive(Clone, Debug, Default)]
pub struct FormErrors {
    lang: Lang,
    by_field: BTreeMap<String, String>,
}

impl FormErrors {
    pub fn new(lang: Lang) -> Self {
        FormErrors { lang, by_field: BTreeMap::new() }
    }

    /// Record the (translated) message `key` for `field`; the first error of a field wins.
    pub fn add(&mut self, field: &str, key: &str) {
        let text = self.lang.t(key).to_string();
        self.by_field.entry(field.to_string()).or_insert(text);
    }

    pub fn add_text(&mut self, field: &str, text: String) {
        self.by_field.entry(field.to_string()).or_insert(text);
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.by_field.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// (field, message) of every error, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_field.iter().map(|(f, t)| (f.as_str(), t.as_str()))
    }

    pub fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "form.required");
        }
    }
}

/// One `<option>` of a select.
#[derive(Clone, Debug)]
pub struct SelectOpt {
    pub value: String,
    pub label: String,
}

impl SelectOpt {
    pub fn new(value: impl ToString, label: impl Into<String>) -> Self {
        SelectOpt { value: value.to_string(), label: label.into() }
    }

    /// Whether this option is the current value (templates: `o.is(form.x)`).
    pub fn is(&self, current: impl AsRef<str>) -> bool {
        self.value == current.as_ref()
    }
}

/// Trim a form value; empty means "not given".
pub fn opt_text(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parse an optional id field ("" → None); anything unparsable is an error for `field`.
pub fn opt_id(errors: &mut FormErrors, field: &str, v: &str) -> Option<i64> {
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<i64>() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(field, "form.invalid");
            None
        }
    }
}

/// A mainland China mobile number: 11 digits starting with 1.
pub fn is_mobile(v: &str) -> bool {
    v.len() == 11 && v.starts_with('1') && v.chars().all(|c| c.is_ascii_digit())
}

/// A plausible e-mail address (something@domain.tld, no spaces).
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.chars().any(char::is_whitespace)
}

/// A web address as stored: an http(s) URL whose host is a domain name or address (letters,
/// digits, `-` and `.`, with a dot; an optional port), with `https://` put in front when no scheme
/// was typed ("www.example.cn" → "https://www.example.cn"). Any other scheme (`javascript:`,
/// `data:`, `ftp://`), user info (`https://bank@evil.cn`) or space is refused (None).
pub fn web_url(v: &str) -> Option<String> {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    let url = if lower.starts_with("http://") || lower.starts_with("https://") {
        v.to_string()
    } else if v.contains("://") {
        return None;
    } else {
        format!("https://{v}")
    };
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = host.contains('.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && host.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    let tail_ok = !tail.chars().any(|c| c.is_whitespace() || c.is_control());
    (host_ok && port_ok && tail_ok).then(|| format!("{}://{authority}{tail}", scheme.to_ascii_lowercase()))
}

/// A submitted form as ordered pairs, for forms whose fields are partly dynamic (custom fields,
/// repeated address rows). Also what a re-rendered form shows: exactly what was typed.
#[derive(Clone, Debug, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    pub fn from_bytes(body: &[u8]) -> FormData {
        FormData { pairs: form_urlencoded::parse(body).into_owned().collect() }
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> FormData {
        FormData { pairs }
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Present with a non-blank value.
    pub fn has(&self, name: &str) -> bool {
        !self.get(name).trim().is_empty()
    }

    pub fn is(&self, name: &str, value: &str) -> bool {
        self.all(name).iter().any(|v| *v == value)
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.pairs.retain(|(k, _)| k != name);
        self.pairs.push((name.to_string(), value.into()));
    }

    /// Drop every value of `name`.
    pub fn remove(&mut self, name: &str) {
        self.pairs.retain(|(k, _)| k != name);
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.pairs.push((name.to_string(), value.into()));
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = crate::error::AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| crate::error::AppError::BadRequest("error.too_large"))?;
        Ok(FormData::from_bytes(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::web_url;

    #[test]
    fn web_addresses_are_http_or_https_only() {
        assert_eq!(web_url("www.example.cn").as_deref(), Some("https://www.example.cn"));
        assert_eq!(web_url(" http://example.cn/a?b=1#c ").as_deref(), Some("http://example.cn/a?b=1#c"));
        assert_eq!(web_url("HTTPS://Example.cn").as_deref(), Some("https://Example.cn"));
        assert_eq!(web_url("example.cn:8080/x").as_deref(), Some("https://example.cn:8080/x"));
        assert_eq!(web_url("星辰科技.中国").as_deref(), Some("https://星辰科技.中国"));
        for bad in [
            "javascript:alert(1)//x.cn",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>.cn",
            "vbscript:x.cn",
            "ftp://example.cn",
            "https://bank.cn@evil.cn",
            "https://",
            "example",
            "exa mple.cn",
            "https://example.cn/a b",
            "https://.cn",
            "https://x.cn:80a",
            "//x.cn",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
    }
}
