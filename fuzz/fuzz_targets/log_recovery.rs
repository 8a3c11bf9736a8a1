//! libFuzzer entry point for `wharf_fuzz::log_recovery`; the target's body and invariants live in
//! `src/log_recovery.rs` so `cargo test` can replay inputs without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz::log_recovery(data));
