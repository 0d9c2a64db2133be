//! (being built)

use crate::access::Routes;
use crate::registry::Registry;

pub fn register(_r: &mut Registry) {}

pub fn routes() -> Routes {
    Routes::new()
}
