use super::common;
