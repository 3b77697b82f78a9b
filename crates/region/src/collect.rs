//! Enrolment and collection for one year: every person of the region's `persons.csv` (with
//! `employment.csv`) becomes a register entry of `yibao-enrolment`, its contributions come from
//! the collection policy, and they are posted to the funds' books:
//!
//! * residents (390): the individual part paid by the person and the part paid by medical
//!   assistance (资助参保, a transfer out of 610100) and the fiscal subsidy into 390100, on the day
//!   the year's coverage begins;
//! * workers (310), month by month: the employer's contribution into 310100; the account credit
//!   into 310200 as its own fund — from the person's own contribution as far as it reaches (the
//!   rest of that contribution stays in 310100), otherwise transferred from 310100 (retirees), and
//!   the civil-servant credit transferred from 320100;
//! * the books policy's balances brought forward and yearly allocations (catastrophic premium,
//!   civil-servant budget, large-amount premium, assistance and backstop budgets); the persons'
//!   opening account balances brought forward into 310200. Balances brought forward are dated the
//!   last day before the year, so each month's change in balance is its income − expenditure.

use std::collections::HashMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use yibao_books::{BookPosting, Flow};
use yibao_domain::codes::{FundPayType, Gend, Insutype, PsnType};
use yibao_domain::{Code, Fen};
use yibao_enrolment::contribution::{ResidentContribution, WorkerContribution};
use yibao_enrolment::person::{Employment, EmploymentKind};
use yibao_enrolment::{
    benefit_start, contribution, CollectionPolicy, ContributionHistory, Enrolment, Identity,
    IdentityPeriod, InsuStatus, InsuredPeriod, Person, WaitingPolicy,
};

use crate::books_policy::{AllocationSource, BooksPolicy};
use crate::flows::{flow_index, flow_name};
use crate::RegionError;
use yibao_ledger::books::BookRow;

/// One `persons.csv` row, as `yibao synth` writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonRecord {
    pub psn_no: String,
    pub certno: String,
    pub psn_name: String,
    pub gend: String,
    pub brdy: NaiveDate,
    pub insutype: String,
    pub psn_type: String,
    pub psn_insu_stas: String,
    pub psn_insu_date: NaiveDate,
    pub insuplc_admdvs: String,
    pub cvlserv_flag: String,
    /// Opening account balance, yuan.
    pub balc: String,
    /// `;`-separated identity codes.
    pub idet: String,
}

/// One `employment.csv` row.
#[derive(Debug, Clone, Deserialize)]
struct EmploymentRecord {
    psn_no: String,
    emp_no: String,
    kind: String,
    /// Monthly wage, yuan.
    monthly_wage: String,
}

/// Contributing persons per scheme, and the civil servants among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contributors {
    /// `(insutype, civil servant)` → persons in normal status who contributed for the year.
    counts: HashMap<(Code, bool), u64>,
}

impl Contributors {
    /// Contributing persons of `insutype` (only civil servants when `civil_servants_only`).
    pub fn count(&self, insutype: Code, civil_servants_only: bool) -> u64 {
        self.counts
            .iter()
            .filter(|((t, civil), _)| *t == insutype && (*civil || !civil_servants_only))
            .map(|(_, n)| *n)
            .sum()
    }
}

/// What the year's collection posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// Postings summed per fund, day and flow.
    pub postings: Vec<BookPosting>,
    pub contributors: Contributors,
}

/// Postings being summed per fund, day and flow.
#[derive(Default)]
struct Ledger {
    sums: HashMap<(Code, NaiveDate, usize), Fen>,
}

impl Ledger {
    fn post(&mut self, fund: Code, date: NaiveDate, flow: Flow, amount: Fen) {
        if !amount.is_zero() {
            *self.sums.entry((fund, date, flow_index(flow))).or_default() += amount;
        }
    }

    /// A transfer: out of `from`, into `to`.
    fn transfer(&mut self, from: Code, to: Code, date: NaiveDate, amount: Fen) {
        self.post(from, date, Flow::TransferOut, amount);
        self.post(to, date, Flow::TransferIn, amount);
    }

    fn into_postings(self) -> Vec<BookPosting> {
        let mut postings: Vec<BookPosting> = self
            .sums
            .into_iter()
            .map(|((fund, date, flow), amount)| BookPosting {
                fund,
                date,
                flow: crate::flows::FLOWS[flow].0,
                amount,
            })
            .collect();
        postings.sort_by_key(|p| (p.fund, p.date, flow_index(p.flow)));
        postings
    }
}

/// Reads the region's persons and employment, computes the year's contributions and posts them.
pub fn collect(
    dir: &Path,
    year: i32,
    collection: &CollectionPolicy,
    books: &BooksPolicy,
) -> Result<Collection, RegionError> {
    let employment = read_employment(dir)?;
    let persons: Vec<PersonRecord> = read_csv(&dir.join("persons.csv"))?;
    let waiting = waiting_rules(collection, year)?;
    let first_day = january_first(year)?;
    let opening_day = first_day.pred_opt().unwrap_or(first_day);
    let mut ledger = Ledger::default();
    let mut contributors = Contributors::default();
    for record in &persons {
        let person = register_entry(
            record,
            employment.get(record.psn_no.as_str()),
            year,
            waiting,
        )?;
        bring_forward_account(&mut ledger, record, opening_day)?;
        if record.psn_insu_stas != InsuStatus::Normal.code() {
            continue;
        }
        let due =
            contribution(&person, year, collection).map_err(|error| RegionError::Contribution {
                psn_no: record.psn_no.clone(),
                problem: error.to_string(),
            })?;
        if let Some(resident) = &due.resident {
            post_resident(&mut ledger, resident, record.psn_insu_date.max(first_day));
        }
        if let Some(worker) = &due.worker {
            let civil_credit = civil_servant_credit(&person, year, collection)?;
            post_worker(&mut ledger, &person, worker, civil_credit, year)?;
        }
        let key = (Code::lit(&record.insutype), person.civil_servant);
        *contributors.counts.entry(key).or_default() += 1;
    }
    post_books_policy(&mut ledger, books, &contributors, opening_day, first_day);
    Ok(Collection {
        postings: ledger.into_postings(),
        contributors,
    })
}

fn january_first(year: i32) -> Result<NaiveDate, RegionError> {
    NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| RegionError::Input {
        what: "year".into(),
        problem: format!("{year} is not a calendar year"),
    })
}

/// Reads a CSV file into records, naming the file and row of any problem.
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RegionError> {
    let input_error = |problem: String| RegionError::Input {
        what: path.display().to_string(),
        problem,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| input_error(e.to_string()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(index, row)| row.map_err(|e| input_error(format!("row {}: {e}", index + 2))))
        .collect()
}

fn read_employment(dir: &Path) -> Result<HashMap<String, Employment>, RegionError> {
    let rows: Vec<EmploymentRecord> = read_csv(&dir.join("employment.csv"))?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let kind = match row.kind.as_str() {
            "employee" => EmploymentKind::Employee,
            "flexible" => EmploymentKind::Flexible,
            _ => continue,
        };
        let monthly_wage = Fen::parse_yuan(&row.monthly_wage).map_err(|e| RegionError::Input {
            what: "employment.csv".into(),
            problem: format!("monthly_wage of {}: {e}", row.psn_no),
        })?;
        out.insert(
            row.psn_no,
            Employment {
                emp_no: row.emp_no,
                kind,
                monthly_wage,
            },
        );
    }
    Ok(out)
}

/// The residents' waiting rules of `year` in the collection policy (`None`: no waiting that year).
pub fn waiting_rules(
    collection: &CollectionPolicy,
    year: i32,
) -> Result<Option<&WaitingPolicy>, RegionError> {
    collection
        .year(year)
        .map(|rules| rules.waiting.as_ref())
        .map_err(|e| RegionError::CollectionPolicy(e.to_string()))
}

/// The register entry of a generated person for `year`: one open insured period from
/// `psn_insu_date`, the identities held throughout, and the benefit start of the period.
///
/// A resident enrolled during `year` is a new enrolment of that coverage year with no contribution
/// history, so `yibao-enrolment` applies the year's waiting rules (国办发〔2024〕38号, with their
/// exemptions); a person insured before the year renewed in the collection window and keeps
/// benefits from the start of the period, as does a worker.
pub fn register_entry(
    record: &PersonRecord,
    employment: Option<&Employment>,
    year: i32,
    waiting: Option<&WaitingPolicy>,
) -> Result<Person, RegionError> {
    let input = |field: &str, problem: String| RegionError::Input {
        what: format!("persons.csv {field} of {}", record.psn_no),
        problem,
    };
    let code = |field: &str, text: &str| {
        Code::new(text).map_err(|_| input(field, format!("`{text}` is not a code")))
    };
    let status = InsuStatus::from_code(&record.psn_insu_stas).ok_or_else(|| {
        input(
            "psn_insu_stas",
            format!("`{}` is not a status 0–4", record.psn_insu_stas),
        )
    })?;
    let identities = record
        .idet
        .split(';')
        .filter(|c| !c.is_empty())
        .map(|c| {
            Ok(IdentityPeriod {
                identity: Identity::from_code(code("idet", c)?),
                begin: record.brdy,
                end: None,
            })
        })
        .collect::<Result<Vec<_>, RegionError>>()?;
    let insutype = Insutype::from_code(code("insutype", &record.insutype)?);
    let new_resident = insutype == Insutype::Resident && record.psn_insu_date.year() == year;
    let benefit_start = if new_resident {
        let enrolment = Enrolment {
            coverage_year: year,
            enrolled_on: record.psn_insu_date,
            birth_date: record.brdy,
            left_worker_scheme_on: None,
            identities: identities.iter().map(|p| p.identity).collect(),
        };
        benefit_start(&enrolment, &ContributionHistory::default(), waiting)
            .map_err(|e| input("psn_insu_date", e.to_string()))?
            .date
    } else {
        record.psn_insu_date
    };
    Ok(Person {
        psn_no: record.psn_no.clone(),
        certno: record.certno.clone(),
        psn_name: record.psn_name.clone(),
        gend: Gend::from_code(code("gend", &record.gend)?),
        brdy: record.brdy,
        civil_servant: record.cvlserv_flag == "1",
        insured_periods: vec![InsuredPeriod {
            insutype,
            psn_type: PsnType::from_code(code("psn_type", &record.psn_type)?),
            status,
            begin: record.psn_insu_date,
            end: None,
            benefit_start,
            insuplc_admdvs: code("insuplc_admdvs", &record.insuplc_admdvs)?,
        }],
        identities,
        employment: employment.cloned(),
    })
}

/// The person's opening account balance, brought forward into 310200 on `opening_day`.
fn bring_forward_account(
    ledger: &mut Ledger,
    record: &PersonRecord,
    opening_day: NaiveDate,
) -> Result<(), RegionError> {
    if record.insutype != Insutype::Worker.code().as_str() || record.balc.is_empty() {
        return Ok(());
    }
    let balance = Fen::parse_yuan(&record.balc).map_err(|e| RegionError::Input {
        what: format!("persons.csv balc of {}", record.psn_no),
        problem: e.to_string(),
    })?;
    ledger.post(
        FundPayType::WorkerAccount.code(),
        opening_day,
        Flow::BroughtForward,
        balance,
    );
    Ok(())
}

fn post_resident(ledger: &mut Ledger, resident: &ResidentContribution, date: NaiveDate) {
    let pooling = FundPayType::ResidentPooling.code();
    ledger.post(
        pooling,
        date,
        Flow::IndividualContribution,
        resident.individual_due,
    );
    ledger.post(
        pooling,
        date,
        Flow::AssistedEnrolment,
        resident.identity_subsidy,
    );
    ledger.post(
        FundPayType::MedicalAssistance.code(),
        date,
        Flow::TransferOut,
        resident.identity_subsidy,
    );
    ledger.post(
        pooling,
        date,
        Flow::FiscalSubsidy,
        resident.fiscal_subsidy.total,
    );
}

/// The monthly civil-servant part of a worker's account credit under the year's policy.
fn civil_servant_credit(
    person: &Person,
    year: i32,
    collection: &CollectionPolicy,
) -> Result<Fen, RegionError> {
    let rules = collection
        .year(year)
        .map_err(|e| RegionError::Contribution {
            psn_no: person.psn_no.clone(),
            problem: e.to_string(),
        })?;
    let retired = person
        .insured_periods
        .iter()
        .any(|p| matches!(p.psn_type, PsnType::Retired | PsnType::RetiredCadre));
    Ok(match (person.civil_servant, rules.worker.civil_servant) {
        (true, Some(credits)) if retired => credits.retired_monthly,
        (true, Some(credits)) => credits.in_service_monthly,
        _ => Fen::ZERO,
    })
}

/// First day of each month of `year` in which the person is in a normal workers' period.
fn insured_months(person: &Person, year: i32) -> Vec<NaiveDate> {
    (1..=12)
        .filter_map(|month| NaiveDate::from_ymd_opt(year, month, 1))
        .filter(|first| {
            let last = first
                .checked_add_months(chrono::Months::new(1))
                .and_then(|next| next.pred_opt())
                .unwrap_or(*first);
            person.insured_periods.iter().any(|p| {
                p.insutype == Insutype::Worker
                    && p.status == InsuStatus::Normal
                    && p.overlaps(*first, last)
            })
        })
        .collect()
}

fn post_worker(
    ledger: &mut Ledger,
    person: &Person,
    worker: &WorkerContribution,
    civil_credit_monthly: Fen,
    year: i32,
) -> Result<(), RegionError> {
    let months = insured_months(person, year);
    if months.len() != worker.months as usize {
        return Err(RegionError::Contribution {
            psn_no: person.psn_no.clone(),
            problem: format!(
                "{} insured months in {year}, the collection policy counted {}",
                months.len(),
                worker.months
            ),
        });
    }
    let (pooling, account) = (
        FundPayType::WorkerPooling.code(),
        FundPayType::WorkerAccount.code(),
    );
    let own_credit = worker.account_credit.monthly - civil_credit_monthly;
    let from_contribution = own_credit.min(worker.individual_monthly);
    for first in months {
        let date = first.max(person.insured_periods[0].begin);
        ledger.post(
            pooling,
            date,
            Flow::EmployerContribution,
            worker.employer_monthly,
        );
        ledger.post(
            account,
            date,
            Flow::IndividualContribution,
            from_contribution,
        );
        ledger.post(
            pooling,
            date,
            Flow::IndividualContribution,
            worker.individual_monthly - from_contribution,
        );
        ledger.transfer(pooling, account, date, own_credit - from_contribution);
        ledger.transfer(
            FundPayType::CivilServant.code(),
            account,
            date,
            civil_credit_monthly,
        );
    }
    Ok(())
}

/// Balances brought forward on `opening_day` (the last day before the year), allocations on the
/// year's `first_day`.
fn post_books_policy(
    ledger: &mut Ledger,
    books: &BooksPolicy,
    contributors: &Contributors,
    opening_day: NaiveDate,
    first_day: NaiveDate,
) {
    for balance in &books.opening_balances {
        let persons = contributors.count(balance.insutype, balance.civil_servants_only);
        ledger.post(
            balance.fund,
            opening_day,
            Flow::BroughtForward,
            times(balance.per_insured, persons),
        );
    }
    for allocation in &books.allocations {
        let persons = contributors.count(allocation.insutype, allocation.civil_servants_only);
        let amount = times(allocation.per_person, persons);
        match (allocation.source, allocation.from_fund) {
            (AllocationSource::Fund, Some(from)) => {
                ledger.transfer(from, allocation.fund, first_day, amount)
            }
            (AllocationSource::Individual, _) => {
                ledger.post(
                    allocation.fund,
                    first_day,
                    Flow::IndividualContribution,
                    amount,
                );
            }
            _ => ledger.post(allocation.fund, first_day, Flow::FiscalSubsidy, amount),
        }
    }
}

fn times(amount: Fen, persons: u64) -> Fen {
    Fen(amount.fen() * persons as i64)
}

/// A posting as stored in `book_postings`.
pub fn stored(posting: &BookPosting) -> BookRow {
    BookRow {
        fund_pay_type: posting.fund.to_string(),
        posting_date: posting.date.format("%Y-%m-%d").to_string(),
        flow: flow_name(posting.flow).to_string(),
        amount: posting.amount,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSONS: &str = "psn_no,psn_cert_type,certno,psn_name,gend,brdy,insutype,psn_type,psn_insu_stas,psn_insu_date,insuplc_admdvs,cvlserv_flag,balc,idet\n\
        W1,01,1,甲,1,1980-01-01,310,11,1,2010-01-01,360402,1,1000.00,\n\
        R1,01,2,乙,2,1950-01-01,310,12,1,2000-01-01,360402,0,2000.00,\n\
        S1,01,3,丙,1,1985-01-01,310,11,2,2010-01-01,360402,0,500.00,\n\
        P1,01,4,丁,2,1990-01-01,390,16,1,2016-01-01,360402,0,0.00,DB\n";
    const EMPLOYMENT: &str = "psn_no,emp_no,kind,monthly_wage\n\
        W1,E1,employee,5000.00\nR1,E1,retired,0.00\nS1,E1,employee,5000.00\n";

    fn collected(test: &str) -> Collection {
        let dir = std::env::temp_dir().join(format!(
            "yibao-region-collect-{test}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("persons.csv"), PERSONS).unwrap();
        std::fs::write(dir.join("employment.csv"), EMPLOYMENT).unwrap();
        let collection =
            CollectionPolicy::from_toml_str(crate::reference::COLLECTION_POLICY).unwrap();
        let books = BooksPolicy::from_toml_str("admdvs = \"360400\"\nname = \"none\"\n").unwrap();
        let out = collect(&dir, 2025, &collection, &books).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        out
    }

    fn total(collection: &Collection, fund: &str, flow: Flow) -> Fen {
        collection
            .postings
            .iter()
            .filter(|p| p.fund.as_str() == fund && p.flow == flow)
            .map(|p| p.amount)
            .sum()
    }

    #[test]
    fn posts_each_flow_to_its_fund() {
        let c = collected("flows");
        // W1: base 5,000 (within 60–300 % of 6,300), employer 9 %, individual 2 % into the account,
        // civil-servant credit 33 a month from 320100; R1: retiree credit 60 a month from 310100.
        assert_eq!(
            total(&c, "310100", Flow::EmployerContribution),
            Fen(12 * 45_000)
        );
        assert_eq!(
            total(&c, "310200", Flow::IndividualContribution),
            Fen(12 * 10_000)
        );
        assert_eq!(total(&c, "310100", Flow::IndividualContribution), Fen::ZERO);
        assert_eq!(total(&c, "320100", Flow::TransferOut), Fen(12 * 3_300));
        assert_eq!(total(&c, "310100", Flow::TransferOut), Fen(12 * 6_000));
        assert_eq!(
            total(&c, "310200", Flow::TransferIn),
            Fen(12 * (3_300 + 6_000))
        );
        // Opening account balances of every worker, suspended or not.
        assert_eq!(total(&c, "310200", Flow::BroughtForward), Fen(350_000));
        // P1 (低保): pays 80, assistance pays 320, the fiscal subsidy is 670.
        assert_eq!(
            total(&c, "390100", Flow::IndividualContribution),
            Fen(8_000)
        );
        assert_eq!(total(&c, "390100", Flow::AssistedEnrolment), Fen(32_000));
        assert_eq!(total(&c, "610100", Flow::TransferOut), Fen(32_000));
        assert_eq!(total(&c, "390100", Flow::FiscalSubsidy), Fen(67_000));
    }

    #[test]
    fn counts_contributors_in_normal_status() {
        let c = collected("counts");
        assert_eq!(c.contributors.count(Insutype::Worker.code(), false), 2);
        assert_eq!(c.contributors.count(Insutype::Worker.code(), true), 1);
        assert_eq!(c.contributors.count(Insutype::Resident.code(), false), 1);
    }

    #[test]
    fn worker_postings_fall_on_each_month() {
        let c = collected("months");
        let months: std::collections::BTreeSet<u32> = c
            .postings
            .iter()
            .filter(|p| p.flow == Flow::EmployerContribution)
            .map(|p| chrono::Datelike::month(&p.date))
            .collect();
        assert_eq!(months.len(), 12);
    }
}
