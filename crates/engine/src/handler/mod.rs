//! Handlers: the code under test. An in-process handler implements [`Handler`] and talks to
//! tooltape through an [`Env`], exactly as an agent talks to a model API and its tools: it sends
//! provider-native request JSON to [`Env::model`] and gets provider-native reply JSON back (so
//! mistakes in the JSON are caught too), and runs tools through [`Env::tool`].
//!
//! ```no_run
//! use tooltape::handler::{BoxError, Env};
//!
//! async fn my_agent(env: Env) -> Result<(), BoxError> {
//!     let mut request = env.initial_request(); // or build your own
//!     loop {
//!         let reply = env.model(request.clone()).await?;
//!         // ... find the tool calls, run them with env.tool(name, &input).await,
//!         // append the reply and one message of results to `request` ...
//!         # let _ = reply; return Ok(());
//!     }
//! }
//!
//! let scenario = tooltape::scenario::load("scenarios/anthropic-three_parallel.json".as_ref()).unwrap();
//! let report = tooltape::handler::run_scenario(scenario.into(), &tooltape::handler::from_fn("mine", my_agent), 42);
//! assert!(report.passed(false), "{}", tooltape::report::terminal::render_failures(&report));
//! ```

pub mod builtin;
mod run;

pub use run::{drive, run_scenario, run_virtual};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::provider::Provider;
use crate::replay::session::{Rejection, Session, ToolAnswer};

/// The error type handlers return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a handler runs as.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

/// Code under test, run in-process.
pub trait Handler: Send + Sync {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// Run the agent loop to its end against `env`.
    fn run(&self, env: Env) -> HandlerFuture;
}

/// A handler made from an async function.
pub struct FnHandler<F> {
    name: String,
    f: F,
}

/// Wrap an async function `f(env)` as a [`Handler`].
pub fn from_fn<F, Fut>(name: &str, f: F) -> FnHandler<F>
where
    F: Fn(Env) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    FnHandler {
        name: name.to_string(),
        f,
    }
}

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Env) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn run(&self, env: Env) -> HandlerFuture {
        Box::pin((self.f)(env))
    }
}

/// A model request the (mock) API refused, as the real API would have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model API error {status}: {message}")]
pub struct ModelError {
    /// HTTP status (400).
    pub status: u16,
    /// The provider's error body.
    pub body: Value,
    /// The error message.
    pub message: String,
}

impl From<Rejection> for ModelError {
    fn from(r: Rejection) -> Self {
        ModelError {
            status: r.status,
            body: r.body,
            message: r.message,
        }
    }
}

/// A fake tool's failure: the tool raised with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

/// A handler's view of tooltape: the model API and the tools. Cheap to clone; share it with
/// the tasks that run tools.
#[derive(Clone)]
pub struct Env {
    pub(crate) session: Arc<Session>,
}

impl Env {
    /// The API the scenario speaks.
    pub fn provider(&self) -> Provider {
        self.session.scenario.cassette.provider()
    }

    /// The first request of the recording, for handlers that start from the recorded prompt.
    pub fn initial_request(&self) -> Value {
        self.session.initial_request()
    }

    /// The tools the scenario marks side-effecting (a handler usually knows its own tools).
    pub fn side_effect_tools(&self) -> Vec<String> {
        self.session.side_effect_tools()
    }

    /// How long the scenario lets a tool call run before the handler must give it up
    /// (`policy.tool_deadline_ms`; past it, a hung call is `timeout-not-enforced`).
    pub fn tool_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.session.scenario.file.policy.tool_deadline_ms)
    }

    /// Send a request to the model; get the reply body, or the API's error.
    pub async fn model(&self, request: Value) -> Result<Value, ModelError> {
        self.model_ref(&request).await
    }

    /// [`Env::model`] for a handler that keeps its request (to extend it with the reply and
    /// the results): no copy of the conversation is made to send it.
    pub async fn model_ref(&self, request: &Value) -> Result<Value, ModelError> {
        self.model_borrowed(request).await.cloned()
    }

    /// [`Env::model_ref`] for a handler that only reads the reply (to find the calls and copy
    /// what its history needs): the recorded reply itself, borrowed, not a copy of it. The
    /// request is judged exactly as [`Env::model`] judges it.
    pub async fn model_borrowed(&self, request: &Value) -> Result<&Value, ModelError> {
        // Let other tasks run first, as a network round trip would.
        tokio::task::yield_now().await;
        let index = self.session.serve(request).map_err(ModelError::from)?;
        Ok(self.session.reply_body(index))
    }

    /// Run a tool with `input`; get its output text, or its error. A hung tool never returns:
    /// wrap calls in a timeout.
    pub async fn tool(&self, name: &str, input: &Value) -> Result<String, ToolError> {
        match self.session.tool_call(name, input, "in-process").await {
            ToolAnswer::Output(o) => Ok(o),
            ToolAnswer::Failed(e) | ToolAnswer::Refused { reason: e, .. } => Err(ToolError(e)),
        }
    }
}
