#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| exp_lib_fuzz::object_id(data));
