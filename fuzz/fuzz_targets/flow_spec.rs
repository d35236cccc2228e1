//! Flow specs: parsing, validating, listing available paths and compiling arbitrary JSON never
//! panics; a flow that compiles also runs (no services, tight budgets) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_flow::spec::NoSubflows;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(flow) = serde_json::from_str::<serde_json::Value>(text) else { return };
    let _ = stratus_flow::validate(&flow, &NoSubflows);
    let _ = stratus_flow::available_paths(&flow, "[0]");
    if let Ok(f) = stratus_flow::compile(&flow, &NoSubflows) {
        let budgets = stratus_flow::Budgets {
            max_node_executions: 1_000,
            max_loop_iterations: 100,
            timeout: std::time::Duration::from_millis(200),
            ..Default::default()
        };
        let Ok(services) = stratus_flow::Services::new() else { return };
        let services = services.with_budgets(budgets);
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        let _ = rt.block_on(stratus_flow::run(&f, Default::default(), &services));
    }
});
