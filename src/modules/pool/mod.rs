use crate::access::Routes;

pub fn routes() -> Routes {
    Routes::new()
}
