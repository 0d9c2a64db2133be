//! Dictionaries kernel (see src/modules/admin/dicts for the admin pages).
