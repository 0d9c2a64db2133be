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
        FormErrors {
            lang,
            by_field: BTreeMap::new(),
        }
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

    pub fn require(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "form.required");
        }
    }
}
