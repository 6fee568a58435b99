//! The in-process transport: a [`Handler`] run against the engine through an [`Env`], on the
//! virtual clock (a paused tokio runtime: seconds of tool latency cost microseconds, and
//! every figure is exact and reproducible).

use std::sync::Arc;
use std::time::Duration;

use super::{Env, Handler};
use crate::replay::session::{Prepared, Session};
use crate::replay::{HandlerEnd, RunPlan, RunReport, Runs, ScenarioReport, order, supervise};
use crate::scenario::{self, Scenario};

/// Run every completion order of `scenario` against `handler` on the virtual clock.
///
/// The runs share one paused runtime (building one costs more than a whole 3-call run), and
/// one [`Prepared`] copy of what every run reads. A run that leaves tasks behind (a handler
/// that spawned a task and did not wait for it, a hung tool it abandoned) gets the runtime
/// dropped with them, and the next run a fresh one, so no run ever sees another's tasks.
pub fn run_scenario(scenario: Arc<Scenario>, handler: &dyn Handler, seed: u64) -> ScenarioReport {
    let prepared = Arc::new(Prepared::of(&scenario));
    let mut runtime: Option<tokio::runtime::Runtime> = None;
    let mut runs = Runs::default();
    for plan in order::plans(&scenario, seed) {
        let rt = match runtime.take().map_or_else(paused_runtime, Ok) {
            Ok(rt) => rt,
            Err(e) => {
                runs.push(RunReport::failed(
                    &plan,
                    format!("could not start a runtime: {e}"),
                ));
                continue;
            }
        };
        // The session is made inside the runtime: its start instant is the virtual clock's.
        let (scenario, prepared) = (scenario.clone(), prepared.clone());
        runs.push(rt.block_on(async move {
            let grace = scenario::VIRTUAL_GRACE;
            drive_session(
                Session::prepared(scenario, prepared, plan, grace, 1.0),
                handler,
            )
            .await
        }));
        if rt.metrics().num_alive_tasks() == 0 {
            runtime = Some(rt);
        }
    }
    ScenarioReport::from_runs(&scenario, handler.name().to_string(), runs)
}

/// A current-thread runtime on the virtual clock.
fn paused_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
}

/// One run on the virtual clock, on a runtime of its own.
pub fn run_virtual(scenario: Arc<Scenario>, handler: &dyn Handler, plan: RunPlan) -> RunReport {
    match paused_runtime() {
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
    drive_session(Session::new(scenario, plan, grace, 1.0), handler).await
}

async fn drive_session(session: Arc<Session>, handler: &dyn Handler) -> RunReport {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::builtin;

    /// The runs of a scenario share a runtime; each must still be what it is on a runtime of
    /// its own: same order, violations, errors and exact virtual-clock figures, also after a
    /// run that leaves a hung tool's task behind.
    #[test]
    fn runs_on_a_shared_runtime_equal_runs_on_their_own() {
        for (file, handler) in [
            ("anthropic-three_parallel.json", "reference"),
            ("anthropic-hung_tool.json", "reference"),
            ("anthropic-hung_tool.json", "breaks-timeout-not-enforced"),
            (
                "openai-chat-three_round_loop.json",
                "breaks-mismatched-result",
            ),
        ] {
            let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join("scenarios")
                .join(file);
            let scenario = Arc::new(scenario::load(&path).unwrap());
            let handler = builtin::by_name(handler).unwrap();
            let shared = run_scenario(scenario.clone(), &handler, 7);
            let alone: Vec<RunReport> = order::plans(&scenario, 7)
                .map(|plan| run_virtual(scenario.clone(), &handler, plan))
                .collect();
            assert!(alone.len() > 1, "{file}");
            assert_eq!(
                serde_json::to_value(&shared.runs).unwrap(),
                serde_json::to_value(&alone).unwrap(),
                "{file} with {}",
                handler.name()
            );
        }
    }
}
