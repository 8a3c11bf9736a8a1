//! libFuzzer entry point for `wharf_fuzz::request_decode`; the target's body and invariants live in
//! `src/request_decode.rs` so `cargo test` can replay inputs without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz::request_decode(data));
