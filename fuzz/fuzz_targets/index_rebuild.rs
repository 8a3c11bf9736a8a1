//! libFuzzer entry point for `wharf_fuzz::index_rebuild`; the target's body and invariants live in
//! `src/index_rebuild.rs` so `cargo test` can replay inputs without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz::index_rebuild(data));
