//! Leads and the public pool: conversion, claim, assign, put back, automatic recycling.

#[path = "../common/mod.rs"]
mod common;

mod leads;
mod pool;
