//! Contributions of one person for one year: residents' individual contribution, identity
//! subsidy and fiscal subsidy split by level of government; workers' employer and individual
//! contributions on the wage base (or the flexible-employment rate); personal-account credits.

use chrono::NaiveDate;
use yibao_domain::codes::{Insutype, PsnType};
use yibao_domain::{Fen, Rounding};

use crate::person::{EmploymentKind, InsuStatus, InsuredPeriod, Person};
use crate::policy::{CollectionPolicy, PolicyError, ResidentPolicy, SubsidyAmount, WorkerPolicy};
use crate::waiting::{first_day, last_day};

/// A person's contributions for one year, per scheme they were in during it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearContributions {
    pub resident: Option<ResidentContribution>,
    pub worker: Option<WorkerContribution>,
}

/// A resident's annual financing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentContribution {
    /// The standard individual contribution of the year.
    pub standard_individual: Fen,
    /// Part of it paid by medical assistance for the person's identity (资助参保).
    pub identity_subsidy: Fen,
    /// Name of the identity subsidy rule applied.
    pub identity_rule: Option<String>,
    /// What the person pays: standard − identity subsidy.
    pub individual_due: Fen,
    pub fiscal_subsidy: FiscalSubsidy,
}

impl ResidentContribution {
    /// Income of the residents' fund for this person: individual part (paid by the person or by
    /// assistance) plus the fiscal subsidy.
    pub fn fund_income(&self) -> Fen {
        self.standard_individual + self.fiscal_subsidy.total
    }
}

/// The fiscal subsidy and its split by level of government.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FiscalSubsidy {
    pub total: Fen,
    pub central: Fen,
    pub province: Fen,
    /// The remainder: total − central − province.
    pub city_county: Fen,
}

/// A worker's contributions and account credits for the months insured in the year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerContribution {
    /// Months of the year overlapping a normal workers' insured period.
    pub months: u32,
    /// Monthly base after floor and ceiling (flexible: the flexible base; retired: zero).
    pub wage_base_monthly: Fen,
    pub employer_monthly: Fen,
    pub individual_monthly: Fen,
    pub employer_year: Fen,
    pub individual_year: Fen,
    pub account_credit: AccountCredit,
}

/// Personal-account credits: in service the individual's contribution, retired a fixed amount,
/// plus any civil-servant credit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AccountCredit {
    pub monthly: Fen,
    pub year: Fen,
}

/// Why contributions cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContributionError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("person {psn_no} is in no normal insured period of 310 or 390 during {year}")]
    NotEnrolled { psn_no: String, year: i32 },
    #[error("person {psn_no} is an in-service worker in {year} but has no employment (wage base unknown)")]
    NoEmployment { psn_no: String, year: i32 },
}

/// Contributions of `person` for `year` under `policy`.
pub fn contribution(
    person: &Person,
    year: i32,
    policy: &CollectionPolicy,
) -> Result<YearContributions, ContributionError> {
    let rules = policy.year(year)?;
    let resident = first_normal_period(person, Insutype::Resident, year).map(|period| {
        resident_contribution(person, period, year, &rules.resident, policy.rounding)
    });
    let worker = match worker_months(person, year) {
        0 => None,
        months => Some(worker_contribution(
            person,
            year,
            months,
            &rules.worker,
            policy.rounding,
        )?),
    };
    if resident.is_none() && worker.is_none() {
        return Err(ContributionError::NotEnrolled {
            psn_no: person.psn_no.clone(),
            year,
        });
    }
    Ok(YearContributions { resident, worker })
}

fn first_normal_period(person: &Person, insutype: Insutype, year: i32) -> Option<&InsuredPeriod> {
    person
        .insured_periods
        .iter()
        .filter(|p| p.insutype == insutype && p.status == InsuStatus::Normal)
        .filter(|p| p.overlaps(first_day(year), last_day(year)))
        .min_by_key(|p| p.begin)
}

/// Identities count as held on the assessment day: 1 January, or the day the person joined
/// during the year.
fn resident_contribution(
    person: &Person,
    period: &InsuredPeriod,
    year: i32,
    rules: &ResidentPolicy,
    rounding: Rounding,
) -> ResidentContribution {
    let assessed_on = period.begin.max(first_day(year));
    let (identity_rule, identity_subsidy) =
        best_identity_subsidy(person, assessed_on, rules, rounding);
    ResidentContribution {
        standard_individual: rules.individual,
        identity_subsidy,
        identity_rule,
        individual_due: rules.individual - identity_subsidy,
        fiscal_subsidy: split_fiscal_subsidy(rules, rounding),
    }
}

fn best_identity_subsidy(
    person: &Person,
    date: NaiveDate,
    rules: &ResidentPolicy,
    rounding: Rounding,
) -> (Option<String>, Fen) {
    let held: Vec<_> = person.identities_on(date).collect();
    rules
        .identity_subsidies
        .iter()
        .filter(|rule| rule.identities.iter().any(|i| held.contains(i)))
        .map(|rule| {
            (
                Some(rule.name.clone()),
                subsidy_amount(rule.subsidy, rules.individual, rounding),
            )
        })
        .max_by_key(|(_, amount)| *amount)
        .unwrap_or((None, Fen::ZERO))
}

fn subsidy_amount(subsidy: SubsidyAmount, individual: Fen, rounding: Rounding) -> Fen {
    match subsidy {
        SubsidyAmount::Full => individual,
        SubsidyAmount::Fixed { amount } => amount.min(individual),
        SubsidyAmount::Share { share } => rounding.apply(individual, share),
    }
}

fn split_fiscal_subsidy(rules: &ResidentPolicy, rounding: Rounding) -> FiscalSubsidy {
    let total = rules.fiscal_subsidy;
    let central = rounding.apply(total, rules.subsidy_shares.central);
    let province = rounding.apply(total, rules.subsidy_shares.province);
    FiscalSubsidy {
        total,
        central,
        province,
        city_county: total - central - province,
    }
}

/// Months of `year` that overlap a normal workers' insured period.
fn worker_months(person: &Person, year: i32) -> u32 {
    (1..=12)
        .filter(|&month| {
            let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
            let last = month_end(first);
            person.insured_periods.iter().any(|p| {
                p.insutype == Insutype::Worker
                    && p.status == InsuStatus::Normal
                    && p.overlaps(first, last)
            })
        })
        .count() as u32
}

fn month_end(first: NaiveDate) -> NaiveDate {
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("valid month");
    next.pred_opt().expect("valid day")
}

/// The person type of the year's last normal workers' period (retirement during the year counts
/// from then on; the monthly figures here use the type at year end).
fn worker_psn_type(person: &Person, year: i32) -> PsnType {
    person
        .insured_periods
        .iter()
        .filter(|p| p.insutype == Insutype::Worker && p.status == InsuStatus::Normal)
        .filter(|p| p.overlaps(first_day(year), last_day(year)))
        .max_by_key(|p| p.begin)
        .map_or(PsnType::InService, |p| p.psn_type)
}

fn worker_contribution(
    person: &Person,
    year: i32,
    months: u32,
    rules: &WorkerPolicy,
    rounding: Rounding,
) -> Result<WorkerContribution, ContributionError> {
    let monthly = if matches!(
        worker_psn_type(person, year),
        PsnType::Retired | PsnType::RetiredCadre
    ) {
        retired_monthly(person, rules)
    } else {
        let employment =
            person
                .employment
                .as_ref()
                .ok_or_else(|| ContributionError::NoEmployment {
                    psn_no: person.psn_no.clone(),
                    year,
                })?;
        match employment.kind {
            EmploymentKind::Employee => {
                employee_monthly(person, employment.monthly_wage, rules, rounding)
            }
            EmploymentKind::Flexible => flexible_monthly(rules, rounding),
        }
    };
    let times = |amount: Fen| Fen(amount.fen() * i64::from(months));
    Ok(WorkerContribution {
        months,
        wage_base_monthly: monthly.base,
        employer_monthly: monthly.employer,
        individual_monthly: monthly.individual,
        employer_year: times(monthly.employer),
        individual_year: times(monthly.individual),
        account_credit: AccountCredit {
            monthly: monthly.account,
            year: times(monthly.account),
        },
    })
}

/// One month of a worker's figures.
struct Monthly {
    base: Fen,
    employer: Fen,
    individual: Fen,
    account: Fen,
}

fn employee_monthly(
    person: &Person,
    wage: Fen,
    rules: &WorkerPolicy,
    rounding: Rounding,
) -> Monthly {
    let floor = percent_of(
        rules.average_monthly_wage,
        rules.base_floor_percent,
        rounding,
    );
    let ceiling = percent_of(
        rules.average_monthly_wage,
        rules.base_ceiling_percent,
        rounding,
    );
    let base = wage.max(floor).min(ceiling);
    let individual = rounding.apply(base, rules.individual_rate);
    let civil_servant = civil_servant_credit(person, rules, false);
    Monthly {
        base,
        employer: rounding.apply(base, rules.employer_rate),
        individual,
        account: individual + civil_servant,
    }
}

fn flexible_monthly(rules: &WorkerPolicy, rounding: Rounding) -> Monthly {
    let base = percent_of(
        rules.average_monthly_wage,
        rules.flexible_base_percent,
        rounding,
    );
    Monthly {
        base,
        employer: Fen::ZERO,
        individual: rounding.apply(base, rules.flexible_rate),
        account: rounding.apply(base, rules.flexible_account_rate),
    }
}

fn retired_monthly(person: &Person, rules: &WorkerPolicy) -> Monthly {
    let account = rules.retiree_monthly_credit + civil_servant_credit(person, rules, true);
    Monthly {
        base: Fen::ZERO,
        employer: Fen::ZERO,
        individual: Fen::ZERO,
        account,
    }
}

fn civil_servant_credit(person: &Person, rules: &WorkerPolicy, retired: bool) -> Fen {
    match (person.civil_servant, rules.civil_servant) {
        (true, Some(credits)) if retired => credits.retired_monthly,
        (true, Some(credits)) => credits.in_service_monthly,
        _ => Fen::ZERO,
    }
}

fn percent_of(amount: Fen, percent: u32, rounding: Rounding) -> Fen {
    rounding.div(i128::from(amount.fen()) * i128::from(percent), 100)
}
