#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_lib_fuzz::exp_ref(data));
