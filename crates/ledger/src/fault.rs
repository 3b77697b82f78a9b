//! Fault injection into the write pipeline, for tests: a [`FaultHook`] set on a [`crate::Store`]
//! ([`crate::Store::with_fault_hook`]) is asked at each [`PipelineStep`] whether to go on, fail the
//! commit or stop for good (a simulated crash). Without a hook each step costs one `Option` check.

use std::fmt;
use std::sync::Arc;

use crate::LedgerError;

/// A point of the write pipeline at which a [`FaultHook`] is asked what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PipelineStep {
    /// The writer took a batch of jobs from the queue (before running it).
    BatchTaken,
    /// The writer ran a batch (before handing it to the committer).
    BatchExecuted,
    /// The committer wrote a group's batches in their transaction (before the commit statement).
    BeforeCommit,
    /// The commit statement succeeded (before the replies are released).
    AfterCommit,
    /// The committer released a group's replies and published its progress.
    Published,
}

/// What the pipeline does at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Go on.
    Proceed,
    /// At [`PipelineStep::BeforeCommit`] or [`PipelineStep::AfterCommit`]: the commit fails as if the
    /// database had refused the group's values ([`LedgerError::is_refusal`]); after the commit
    /// statement it is durable all the same. Ignored at other steps.
    Refuse,
    /// Like [`Fault::Refuse`], as if the database itself were failing.
    Fail,
    /// The task stops at this step for good, as if the process had died there.
    Halt,
}

/// Decides what the write pipeline does at each step (tests only; see the module documentation).
pub trait FaultHook: Send + Sync + 'static {
    /// What to do at `step`.
    fn at(&self, step: PipelineStep) -> Fault;
}

/// A store's hook, if any.
#[derive(Clone, Default)]
pub(crate) struct Faults(Option<Arc<dyn FaultHook>>);

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Faults(hook)"
        } else {
            "Faults(none)"
        })
    }
}

impl Faults {
    /// A hook to ask.
    pub(crate) fn new(hook: Arc<dyn FaultHook>) -> Faults {
        Faults(Some(hook))
    }

    /// Asks the hook at `step`: `Ok` to go on, an injected error to fail the commit; never returns
    /// when the hook halts the pipeline.
    pub(crate) async fn at(&self, step: PipelineStep) -> Result<(), LedgerError> {
        let Some(hook) = &self.0 else {
            return Ok(());
        };
        match hook.at(step) {
            Fault::Proceed => Ok(()),
            Fault::Refuse => Err(LedgerError::InjectedFault {
                step,
                refusal: true,
            }),
            Fault::Fail => Err(LedgerError::InjectedFault {
                step,
                refusal: false,
            }),
            Fault::Halt => std::future::pending().await,
        }
    }
}
