//! The in-process transport: a [`Handler`] run against the engine through an [`Env`], on the
//! virtual clock (a paused tokio runtime: seconds of tool latency cost microseconds, and
//! every figure is exact and reproducible).

use std::sync::Arc;
use std::time::Duration;

use super::{Env, Handler};
use crate::replay::session::Session;
use crate::replay::{HandlerEnd, RunPlan, RunReport, ScenarioReport, order, supervise};
use crate::scenario::{self, Scenario};

/// Run every completion order of `scenario` against `handler` on the virtual clock.
pub fn run_scenario(scenario: Arc<Scenario>, handler: &dyn Handler, seed: u64) -> ScenarioReport {
    let runs = order::plans(&scenario, seed)
        .map(|plan| run_virtual(scenario.clone(), handler, plan))
        .collect();
    ScenarioReport::new(&scenario, handler.name().to_string(), runs)
}

/// One run on the virtual clock, on a runtime of its own.
pub fn run_virtual(scenario: Arc<Scenario>, handler: &dyn Handler, plan: RunPlan) -> RunReport {
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt.block_on(drive(scenario, handler, plan, scenario::VIRTUAL_GRACE)),
        Err(e) => RunReport::failed(&plan, format!("could not start a runtime: {e}")),
    }
}

/// Drive one run of an in-process handler on the current runtime's clock, with the fake
/// tools' barrier holding calls for at most `grace`.
pub async fn drive(
    scenario: Arc<Scenario>,
    handler: &dyn Handler,
    plan: RunPlan,
    grace: Duration,
) -> RunReport {
    let session = Session::new(scenario, plan, grace, 1.0);
    let env = Env {
        session: session.clone(),
    };
    let fut = handler.run(env);
    let ended = async {
        match fut.await {
            Ok(()) => HandlerEnd::Finished,
            Err(e) => HandlerEnd::Failed(e.to_string()),
        }
    };
    supervise(&session, ended, || async {}).await
}
