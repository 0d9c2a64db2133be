//! One-shot messages shown on the next rendered page ("客户已保存").

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const KEY: &str = "flash";

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Kind {
    Success,
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: Kind,
    pub text: String,
}

impl Flash {
    pub fn css(&self) -> &'static str {
        match self.kind {
            Kind::Success => "flash-success",
            Kind::Info => "flash-info",
            Kind::Warning => "flash-warning",
            Kind::Error => "flash-error",
        }
    }
}

pub async fn push(session: &Session, kind: Kind, text: String) {
    let mut list: Vec<Flash> = session.get(KEY).await.ok().flatten().unwrap_or_default();
    list.push(Flash { kind, text });
    let _ = session.insert(KEY, list).await;
}

/// The pending messages, removed from the session. Reading when there are none leaves the
/// session untouched, so an ordinary page view does not write the session back.
pub async fn take(session: &Session) -> Vec<Flash> {
    let pending: Option<Vec<Flash>> = session.get(KEY).await.ok().flatten();
    match pending {
        Some(list) => {
            let _ = session.remove::<Vec<Flash>>(KEY).await;
            list
        }
        None => Vec::new(),
    }
}
