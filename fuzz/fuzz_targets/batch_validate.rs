//! libFuzzer entry point for `wharf_fuzz::batch_validate`; the target's body and invariants live in
//! `src/batch_validate.rs` so `cargo test` can replay inputs without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz::batch_validate(data));
