//! Custom fields kernel (see src/modules/admin/fields for the admin pages).
