//! Arbitrary bytes as the `higress` value of the higress-config ConfigMap. Never panics.
#![no_main]

use config_store::resource::HigressConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = HigressConfig::parse(&text) {
        let _ = config.gzip_level();
    }
});
