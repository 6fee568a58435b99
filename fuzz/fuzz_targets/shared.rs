//! What the targets that drive the mock's service (`mock`, `mcp`) share. Not a target itself
//! (no `[[bin]]` names it): each includes it with `mod shared;`.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use tooltape::provider::Provider;
use tooltape::scenario::Scenario;

/// Per API of `Provider::ALL`, its bundled `three_parallel` scenario.
pub static SCENARIOS: LazyLock<Vec<Arc<Scenario>>> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    Provider::ALL
        .iter()
        .map(|p| {
            let path = dir.join(format!("{}-three_parallel.json", p.as_str()));
            Arc::new(tooltape::scenario::load(&path).expect("a bundled scenario"))
        })
        .collect()
});
