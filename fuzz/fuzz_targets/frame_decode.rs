//! libFuzzer entry point for `wharf_fuzz::frame_decode`; the target's body and invariants live in
//! `src/frame_decode.rs` so `cargo test` can replay inputs without libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wharf_fuzz::frame_decode(data));
