//! Numbering rules kernel (see src/modules/admin/numbering for the admin page).
