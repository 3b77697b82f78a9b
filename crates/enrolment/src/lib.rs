//! Enrolment and contributions of the basic medical insurance (医保), as pure functions over data:
//! no I/O and no clock.
//!
//! * [`person`]: the register: persons, insured periods per scheme with `psn_insu_stas`, identity
//!   periods (特困, 低保, 返贫致贫 …), employment and employers, family links for 共济.
//! * [`waiting`]: [`benefit_start`], the waiting-period rules of 国办发〔2024〕38号 as policy data.
//! * [`coverage`]: [`coverage_on`], whether a person has benefits on a date, or the precise reason not.
//! * [`policy`]: the per-year collection policy file (rates, amounts, subsidies, waiting rules).
//! * [`contribution`]: [`contribution()`], residents' and workers' contributions and account credits.

pub mod contribution;
pub mod coverage;
pub mod person;
pub mod policy;
pub mod waiting;

pub use contribution::{contribution, ContributionError, YearContributions};
pub use coverage::{coverage_on, periods_coverage_on, NotCovered, NotCoveredReason};
pub use person::{Identity, IdentityPeriod, InsuStatus, InsuredPeriod, Person};
pub use policy::{CollectionPolicy, PolicyError};
pub use waiting::{benefit_start, BenefitStart, ContributionHistory, Enrolment, WaitingPolicy};
