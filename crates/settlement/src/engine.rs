//! The one-stop settlement pipeline (settlement.md §1, docs/settlement-rules.md): context, line
//! split, flat items, regime, basic fund, large-amount, catastrophic, civil servant, assistance,
//! backstop, account, cash. Pure: the same inputs always give the same fen.

use chrono::Datelike;
use yibao_catalog::Catalog;
use yibao_domain::codes::Gend;
use yibao_domain::{Code, Fen, Ratio};
use yibao_policy::{
    open_match, Bucket, DeductibleKind, FilingStatus, Place, Policy, Rate, Region, Scheme,
    SummaryColumn, Tier,
};

use crate::accumulators::{AccKey, Posting, YearToDate};
use crate::input::{Coverage, Person, Visit};
use crate::output::{FundRow, LineSplit, Payer, Settlement, TracedFundRow};
use crate::schedule::{RatioAdjust, Schedule};
use crate::split::{self, SplitContext};
use crate::trace::TraceStep;

/// Why a visit cannot be settled; each names the input field at fault ([`SettleError::field`])
/// and what is wrong with it ([`SettleError::problem`], in Chinese: the interface shows it to the
/// cashier). Displayed as `field: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleError {
    NoFeeLines,
    LineAmountMismatch {
        index: usize,
        amount: Fen,
        expected: String,
        tolerance: Fen,
    },
    UnknownScheme {
        insutype: Code,
        policy: String,
    },
    UnknownHospLv(Code),
    PolicyNotInForce {
        policy: String,
        date: chrono::NaiveDate,
    },
    EndBeforeBegin {
        begin: chrono::NaiveDateTime,
        end: chrono::NaiveDateTime,
    },
    /// The insured place's policy does not settle this remote stay directly.
    NoDirectSettlement {
        status: yibao_policy::FilingStatus,
        policy: String,
    },
}

impl SettleError {
    /// The input field at fault, in national field names (`feedetail[3].det_item_fee_sumamt`).
    pub fn field(&self) -> String {
        match self {
            SettleError::NoFeeLines => "feedetail".into(),
            SettleError::LineAmountMismatch { index, .. } => {
                format!("feedetail[{index}].det_item_fee_sumamt")
            }
            SettleError::UnknownScheme { .. } => "insutype".into(),
            SettleError::UnknownHospLv(_) => "hosp_lv".into(),
            SettleError::PolicyNotInForce { .. } | SettleError::EndBeforeBegin { .. } => {
                "endtime".into()
            }
            SettleError::NoDirectSettlement { .. } => "fixmedins_code".into(),
        }
    }

    /// What is wrong with the field, as the cashier reads it after `参数 <field> 有误：`.
    pub fn problem(&self) -> String {
        match self {
            SettleError::NoFeeLines => "就诊没有费用明细".into(),
            SettleError::LineAmountMismatch {
                amount,
                expected,
                tolerance,
                ..
            } => format!("{amount} 与单价 × 数量 = {expected} 相差超过 {tolerance}"),
            SettleError::UnknownScheme { insutype, policy } => {
                format!("政策 {policy} 不含险种 {insutype}")
            }
            SettleError::UnknownHospLv(code) => {
                format!("医院等级 {code} 在政策中没有对应的起付线等级")
            }
            SettleError::PolicyNotInForce { policy, date } => {
                format!("政策 {policy} 在 {date} 不在有效期内")
            }
            SettleError::EndBeforeBegin { begin, end } => {
                format!("{end} 早于开始时间 {begin}")
            }
            SettleError::NoDirectSettlement { status, policy } => format!(
                "参保地政策 {policy} 规定{}的异地就医不能直接结算，请先办理异地就医备案或回参保地手工报销",
                status.label()
            ),
        }
    }
}

impl std::fmt::Display for SettleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field(), self.problem())
    }
}

impl std::error::Error for SettleError {}

/// The engine: a policy and the catalogue of the place of treatment.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    policy: &'a Policy,
    catalog: &'a Catalog,
}

impl Run<'_> {
    /// Refuses a remote stay the insured place's policy does not settle directly.
    fn check_direct_settlement(&self) -> Result<(), SettleError> {
        match self.refused {
            Some(status) => Err(SettleError::NoDirectSettlement {
                status,
                policy: self.policy.policy.name.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// How the care is being settled, which decides the rate class of a remote stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// Direct settlement at the institution ([`Policy::place_of`]).
    Directly,
    /// Reimbursed at the counter ([`Policy::manual_claim_place`]).
    AtTheCounter,
}

/// What every step of one settlement shares.
struct Run<'a> {
    policy: &'a Policy,
    scheme: &'a Scheme,
    person: &'a Person,
    visit: &'a Visit,
    ytd: &'a YearToDate,
    bucket: Option<&'a Bucket>,
    level: u8,
    place: Place,
    /// The filing status of a remote stay the policy does not settle directly.
    refused: Option<FilingStatus>,
    age_years: u32,
    adjustment: Option<&'a yibao_policy::RemoteAdjustment>,
    /// In-scope amount not yet paid by any fund.
    inscp_left: Fen,
}

impl<'a> Engine<'a> {
    pub fn new(policy: &'a Policy, catalog: &'a Catalog) -> Engine<'a> {
        Engine { policy, catalog }
    }

    pub fn policy(&self) -> &'a Policy {
        self.policy
    }

    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    /// Settles a visit (or pre-settles it: the call changes nothing; persisting is the caller's
    /// choice). `balance` is the personal-account balance before the visit.
    pub fn settle(
        &self,
        person: &Person,
        visit: &Visit,
        ytd: &YearToDate,
        balance: Fen,
    ) -> Result<Settlement, SettleError> {
        let mut out = Settlement::default();
        self.settle_into(person, visit, ytd, balance, &mut out)?;
        Ok(out)
    }

    /// Like [`Engine::settle`] but fills `out`, reusing its buffers (no allocation once warm).
    pub fn settle_into(
        &self,
        person: &Person,
        visit: &Visit,
        ytd: &YearToDate,
        balance: Fen,
        out: &mut Settlement,
    ) -> Result<(), SettleError> {
        out.clear();
        self.check_lines(visit)?;
        let mut run = self.prepare(person, visit, ytd, Settled::Directly)?;
        run.check_direct_settlement()?;
        self.start(&run, out);
        self.split_into(&run, &mut out.lines);
        self.pay(&mut run, balance, out);
        Ok(())
    }

    /// Settles care reimbursed at the counter (零星报销): like [`Engine::settle_into`], except
    /// that the place is [`Policy::manual_claim_place`] of `visit.filing` (unfiled when `None`).
    /// Care paid in cash comes with `use_account` false.
    pub fn settle_manual_claim_into(
        &self,
        person: &Person,
        visit: &Visit,
        ytd: &YearToDate,
        balance: Fen,
        out: &mut Settlement,
    ) -> Result<(), SettleError> {
        out.clear();
        self.check_lines(visit)?;
        let mut run = self.prepare(person, visit, ytd, Settled::AtTheCounter)?;
        run.check_direct_settlement()?;
        self.start(&run, out);
        self.split_into(&run, &mut out.lines);
        self.pay(&mut run, balance, out);
        Ok(())
    }

    /// Settles from a line split made earlier (at fee upload, 2204/2301), skipping the catalogue
    /// work; `lines` must come from [`Engine::split_lines`] for the same person and visit.
    pub fn settle_split_into(
        &self,
        person: &Person,
        visit: &Visit,
        lines: &[LineSplit],
        ytd: &YearToDate,
        balance: Fen,
        out: &mut Settlement,
    ) -> Result<(), SettleError> {
        out.clear();
        if lines.is_empty() {
            return Err(SettleError::NoFeeLines);
        }
        let mut run = self.prepare(person, visit, ytd, Settled::Directly)?;
        run.check_direct_settlement()?;
        self.start(&run, out);
        out.lines.extend_from_slice(lines);
        self.pay(&mut run, balance, out);
        Ok(())
    }

    /// Settles lines split by another platform with the catalogue of the place of treatment
    /// (异地就医 between platforms): as [`Engine::settle_split_into`], but the remote-care extra
    /// 先行自付 (M1) is this policy's — whatever the treating platform moved under its own rules is
    /// put back and this policy's adjustment for the place and filing status applied to every line.
    pub fn settle_peer_split_into(
        &self,
        person: &Person,
        visit: &Visit,
        lines: &[LineSplit],
        ytd: &YearToDate,
        balance: Fen,
        out: &mut Settlement,
    ) -> Result<(), SettleError> {
        let extra = self.split_basis(person, visit)?.extra_preselfpay;
        let rounding = self.policy.rounding;
        let lines: Vec<LineSplit> = lines
            .iter()
            .map(|line| {
                let mut line = *line;
                split::undo_remote_extra(&mut line);
                if let Some(extra) = extra {
                    split::move_remote_extra(&mut line, extra, rounding);
                }
                line
            })
            .collect();
        self.settle_split_into(person, visit, &lines, ytd, balance, out)
    }

    /// Records the context of a settlement.
    fn start(&self, run: &Run, out: &mut Settlement) {
        let visit = run.visit;
        out.year = visit.settlement_date().year();
        out.settlement_date = Some(visit.settlement_date());
        out.bucket = run.bucket.map(|b| b.id);
        out.level = run.level;
        out.region = Some(run.place.region);
        out.trace.push(TraceStep::Context {
            level: run.level,
            place: run.place,
            bucket: out.bucket,
            age_years: run.age_years,
        });
    }

    /// Everything after the line split: totals, flat items, the layers, account and cash.
    fn pay(&self, run: &mut Run<'a>, balance: Fen, out: &mut Settlement) {
        let visit = run.visit;
        record_split(out, run.adjustment.and_then(|a| a.extra_preselfpay));
        run.inscp_left = out.totals.inscp_scp_amt;
        if let Coverage::NotCovered(reason) = run.person.coverage {
            out.trace.push(TraceStep::NotCovered { reason });
            state_no_benefits(run, out);
            finish(run, balance, out);
            return;
        }
        pay_flat_items(run, out);
        match run.bucket {
            Some(bucket) => self.pay_layers(run, bucket, out),
            None => out.trace.push(TraceStep::NoRegime {
                med_type: visit.med_type,
            }),
        }
        finish(run, balance, out);
        debug_assert!(out.totals.identity_violations().is_empty());
    }

    /// The per-line split only (for fee upload replies, 2204/2301).
    pub fn split_lines(
        &self,
        person: &Person,
        visit: &Visit,
        out: &mut Vec<LineSplit>,
    ) -> Result<(), SettleError> {
        self.check_lines(visit)?;
        let run = self.prepare(person, visit, &EMPTY_YTD, Settled::Directly)?;
        out.clear();
        self.split_into(&run, out);
        Ok(())
    }

    /// What [`Engine::split_lines`] of this person and visit depends on besides the catalogue and the
    /// policy: a split stored at fee upload may be settled from as long as this basis (and the
    /// catalogue and policy) are unchanged.
    pub fn split_basis(&self, person: &Person, visit: &Visit) -> Result<SplitBasis, SettleError> {
        let run = self.prepare(person, visit, &EMPTY_YTD, Settled::Directly)?;
        Ok(SplitBasis {
            insutype: person.insutype,
            level: run.level,
            gend: person.gend,
            age_years: run.age_years,
            extra_preselfpay: run.adjustment.and_then(|a| a.extra_preselfpay),
        })
    }

    /// Every line's amount must agree with `pric × cnt` within the policy's tolerance.
    fn check_lines(&self, visit: &Visit) -> Result<(), SettleError> {
        if visit.lines.is_empty() {
            return Err(SettleError::NoFeeLines);
        }
        let tolerance = self.policy.policy.line_amount_tolerance;
        if let Some((index, line)) = visit
            .lines
            .iter()
            .enumerate()
            .find(|(_, l)| !split::amount_matches(l, tolerance))
        {
            let expected = yibao_domain::decimal::format_scaled(
                i64::try_from(split::price_times_quantity(line) / 1_000_000).unwrap_or(i64::MAX),
                2,
            );
            return Err(SettleError::LineAmountMismatch {
                index,
                amount: line.amount,
                expected,
                tolerance,
            });
        }
        Ok(())
    }

    fn prepare<'r>(
        &'r self,
        person: &'r Person,
        visit: &'r Visit,
        ytd: &'r YearToDate,
        settled: Settled,
    ) -> Result<Run<'r>, SettleError> {
        let policy = self.policy;
        if visit.end < visit.begin {
            return Err(SettleError::EndBeforeBegin {
                begin: visit.begin,
                end: visit.end,
            });
        }
        let date = visit.settlement_date();
        if !policy.in_force_on(date) {
            return Err(SettleError::PolicyNotInForce {
                policy: policy.policy.version.clone(),
                date,
            });
        }
        let scheme = policy
            .scheme(person.insutype)
            .ok_or_else(|| SettleError::UnknownScheme {
                insutype: person.insutype,
                policy: policy.policy.name.clone(),
            })?;
        let level = policy
            .level_of(visit.hosp_lv)
            .ok_or(SettleError::UnknownHospLv(visit.hosp_lv))?
            .level;
        // A stay the policy does not settle directly is still split (fees are uploaded before a
        // filing may be made), as unfiled care; settling it is refused.
        let placed = match settled {
            Settled::Directly => {
                policy.place_of(visit.medins_admdvs.as_str(), visit.referred, visit.filing)
            }
            Settled::AtTheCounter => policy.manual_claim_place(
                visit.medins_admdvs.as_str(),
                visit.filing.unwrap_or(FilingStatus::Unfiled),
            ),
        };
        let (place, refused) = match placed {
            Ok(place) => (place, None),
            Err(refusal) => (
                Place {
                    region: Region::OutUnreferred,
                    filing: Some(refusal.status),
                },
                Some(refusal.status),
            ),
        };
        let bucket = scheme.bucket_for(visit.med_type, &visit.dise_codg, level, place);
        let adjustment = remote_adjustment(scheme, bucket, place);
        let age_years = person.age_on(visit.begin.date());
        Ok(Run {
            policy,
            scheme,
            person,
            visit,
            ytd,
            bucket,
            level,
            place,
            refused,
            age_years,
            adjustment,
            inscp_left: Fen::ZERO,
        })
    }

    fn split_into(&self, run: &Run, out: &mut Vec<LineSplit>) {
        let ctx = SplitContext {
            person: run.person,
            level: run.level,
            age_years: run.age_years,
            rounding: run.policy.rounding,
            extra_preselfpay: run.adjustment.and_then(|a| a.extra_preselfpay),
        };
        for (index, line) in run.visit.lines.iter().enumerate() {
            let mut split = split::split_line(self.catalog, line, index as u32, &ctx);
            split.flat = split.amounts.inscp_scp_amt != Fen::ZERO
                && run
                    .scheme
                    .flat_items
                    .iter()
                    .any(|f| f.med_list_codg == line.med_list_codg);
            out.push(split);
        }
    }

    fn pay_layers(&self, run: &mut Run<'a>, bucket: &'a Bucket, out: &mut Settlement) {
        let regime_inscp: Fen = out
            .lines
            .iter()
            .filter(|l| !l.flat)
            .map(|l| l.amounts.inscp_scp_amt)
            .sum();
        let rate = bucket.rates.iter().find(|r| rate_matches(r, run));
        let basic = match rate {
            Some(rate) => pay_basic(run, bucket, rate, regime_inscp, out),
            None => {
                out.trace.push(TraceStep::NoRate { bucket: bucket.id });
                None
            }
        };
        if let Some(basic) = basic {
            pay_large_amount(run, bucket, &basic, out);
        }
        pay_catastrophic(run, bucket, out);
        pay_civil_servant(run, bucket, out);
        pay_assistance(run, bucket, out);
        pay_backstop(run, bucket, out);
    }
}

static EMPTY_YTD: YearToDate = YearToDate::const_new();

/// What the line split of a visit depends on besides the catalogue and the policy: the scheme, the
/// deductible level of the place of treatment, the patient's sex and age on the day care began and
/// the remote-care extra 先行自付 in force (which follows from the medical type, diagnosis, region
/// and referral). Under the same catalogue and policy, a line split twice on equal bases splits the
/// same. Displayed as `insutype=390;level=3;gend=1;age=45;extra_preselfpay_bp=-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitBasis {
    pub insutype: Code,
    pub level: u8,
    pub gend: Gend,
    pub age_years: u32,
    pub extra_preselfpay: Option<Ratio>,
}

impl std::fmt::Display for SplitBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "insutype={};level={};gend={};age={};extra_preselfpay_bp=",
            self.insutype,
            self.level,
            self.gend.code(),
            self.age_years
        )?;
        match self.extra_preselfpay {
            Some(ratio) => write!(f, "{}", ratio.bp()),
            None => f.write_str("-"),
        }
    }
}

fn rate_matches(rate: &Rate, run: &Run) -> bool {
    let date = run.visit.settlement_date();
    rate.region.matches(run.place)
        && open_match(&rate.levels, &run.level)
        && open_match(&rate.psn_types, &run.person.psn_type)
        && (rate.identities.is_empty()
            || rate
                .identities
                .iter()
                .any(|c| run.person.has_identity(*c, date)))
}

/// The first remote-care adjustment for this region and regime.
fn remote_adjustment<'a>(
    scheme: &'a Scheme,
    bucket: Option<&Bucket>,
    place: Place,
) -> Option<&'a yibao_policy::RemoteAdjustment> {
    scheme.remote_adjustments.iter().find(|a| {
        a.region.matches(place)
            && (a.buckets.is_empty() || bucket.is_some_and(|b| a.buckets.contains(&b.id)))
    })
}

fn record_split(out: &mut Settlement, extra_preselfpay: Option<Ratio>) {
    let mut moved_by_remote = Fen::ZERO;
    for line in &out.lines {
        let totals = &mut out.totals;
        let amounts = &line.amounts;
        totals.medfee_sumamt += amounts.det_item_fee_sumamt;
        totals.fulamt_ownpay_amt += amounts.fulamt_ownpay_amt;
        totals.overlmt_selfpay += amounts.overlmt_amt;
        totals.preselfpay_amt += amounts.preselfpay_amt;
        totals.inscp_scp_amt += amounts.inscp_scp_amt;
        moved_by_remote += line.remote_extra_preselfpay;
    }
    let totals = out.totals;
    out.trace.push(TraceStep::Split {
        lines: out.lines.len() as u32,
        medfee: totals.medfee_sumamt,
        fulamt: totals.fulamt_ownpay_amt,
        overlmt: totals.overlmt_selfpay,
        preselfpay: totals.preselfpay_amt,
        inscp: totals.inscp_scp_amt,
    });
    if let Some(ratio) = extra_preselfpay.filter(|_| moved_by_remote != Fen::ZERO) {
        out.trace.push(TraceStep::RemoteExtraSelfPay {
            ratio,
            moved: moved_by_remote,
        });
    }
}

/// Adds a payment to the fund's `setldetail` row (one row per fund) and its summary column.
fn add_payment(
    run: &Run,
    out: &mut Settlement,
    fund: Code,
    base: Fen,
    available: Option<Fen>,
    paid: Fen,
) {
    let column = run
        .policy
        .fund(fund)
        .map_or(SummaryColumn::OthPay, |f| f.column);
    crate::output::add_to_column(&mut out.totals, column, paid);
    out.totals.fund_pay_sumamt += paid;
    let step = out.trace.len() - 1;
    match out.funds.iter_mut().find(|f| f.row.fund_pay_type == fund) {
        Some(f) => {
            f.row.fund_payamt += paid;
            f.row.inscp_scp_amt += base;
        }
        None => out.funds.push(TracedFundRow {
            row: FundRow {
                fund_pay_type: fund,
                payer: Payer::Fund,
                inscp_scp_amt: base,
                crt_payb_lmt_amt: available,
                fund_payamt: paid,
            },
            trace_step: step,
        }),
    }
}

fn pay_flat_items(run: &mut Run, out: &mut Settlement) {
    for index in 0..out.lines.len() {
        let line = out.lines[index];
        if !line.flat {
            continue;
        }
        let code = &run.visit.lines[line.line as usize].med_list_codg;
        let Some(item) = run
            .scheme
            .flat_items
            .iter()
            .find(|f| &f.med_list_codg == code)
        else {
            continue;
        };
        let flat = item
            .amounts
            .iter()
            .find(|a| a.level == run.level)
            .map_or(Fen::ZERO, |a| a.amount);
        let paid = flat.min(line.amounts.inscp_scp_amt.clamp_non_negative());
        out.trace.push(TraceStep::FlatItem {
            line: line.line,
            fund: item.fund,
            flat,
            inscp: line.amounts.inscp_scp_amt,
            paid,
        });
        add_payment(run, out, item.fund, line.amounts.inscp_scp_amt, None, paid);
        run.inscp_left -= paid;
    }
}

/// What the basic step leaves for the large-amount layer.
struct BasicOutcome<'p> {
    schedule: Schedule<'p>,
    band_start: Fen,
    base: Fen,
    uncapped: Fen,
    available: Option<Fen>,
}

fn pay_basic<'p>(
    run: &mut Run<'p>,
    bucket: &'p Bucket,
    rate: &'p Rate,
    regime_inscp: Fen,
    out: &mut Settlement,
) -> Option<BasicOutcome<'p>> {
    let charged = charge_deductible(run, bucket, rate, regime_inscp, out);
    let adjust = run
        .adjustment
        .map_or(RatioAdjust::default(), |a| RatioAdjust {
            minus: a.ratio_minus.unwrap_or(Ratio::ZERO),
            factor: a.ratio_factor,
        });
    let schedule = Schedule::new(rate.ratio, &rate.bands, adjust, run.policy.rounding);
    let base = regime_inscp - charged;
    let band_start = match bucket.band_basis {
        yibao_policy::BandBasis::Year => Fen(run.ytd.get(AccKey::BandBase(bucket.id))),
        yibao_policy::BandBasis::Visit => Fen::ZERO,
    };
    let uncapped = schedule.pay(band_start, base);
    let (available, paid) = within_cap(
        run,
        bucket.annual_cap,
        AccKey::CapUsed(bucket.cap_group()),
        uncapped,
    );
    out.trace.push(TraceStep::Basic {
        fund: bucket.fund,
        base,
        ratio: schedule.single_ratio(),
        remote_from: if adjust.is_identity() {
            None
        } else {
            rate.ratio
        },
        uncapped,
        available,
        paid,
    });
    add_payment(run, out, bucket.fund, base, available, paid);
    run.inscp_left -= paid;
    push_posting(out, AccKey::CapUsed(bucket.cap_group()), paid.fen());
    if bucket.band_basis == yibao_policy::BandBasis::Year {
        push_posting(out, AccKey::BandBase(bucket.id), base.fen());
    }
    Some(BasicOutcome {
        schedule,
        band_start,
        base,
        uncapped,
        available,
    })
}

fn charge_deductible(
    run: &Run,
    bucket: &Bucket,
    rate: &Rate,
    regime_inscp: Fen,
    out: &mut Settlement,
) -> Fen {
    let already_paid = match bucket.deductible_kind {
        DeductibleKind::PerAdmission => run.visit.episode_deductible_paid,
        DeductibleKind::PerYear => Fen(run.ytd.get(AccKey::BucketDeductible(bucket.id))),
        DeductibleKind::PerVisit | DeductibleKind::None => Fen::ZERO,
    };
    let standard = if bucket.deductible_kind == DeductibleKind::None {
        Fen::ZERO
    } else {
        rate.deductible
    };
    let charged = (standard - already_paid)
        .clamp_non_negative()
        .min(regime_inscp.clamp_non_negative());
    out.trace.push(TraceStep::Deductible {
        bucket: bucket.id,
        kind: bucket.deductible_kind,
        standard,
        already_paid,
        charged,
    });
    out.totals.act_pay_dedc = charged;
    push_posting(out, AccKey::BucketDeductible(bucket.id), charged.fen());
    charged
}

fn pay_large_amount(run: &mut Run, bucket: &Bucket, basic: &BasicOutcome, out: &mut Settlement) {
    let Some(layer) = run
        .scheme
        .large_amount
        .as_ref()
        .filter(|l| l.buckets.contains(&bucket.id))
    else {
        return;
    };
    let Some(basic_available) = basic.available.filter(|a| basic.uncapped > *a) else {
        return;
    };
    let Some(cost_used_by_basic) = basic
        .schedule
        .inverse_ceil(basic.band_start, basic_available)
    else {
        return;
    };
    let above = (basic.base - cost_used_by_basic).clamp_non_negative();
    let uncapped = run.policy.rounding.apply(above, layer.ratio);
    let (available, paid) = within_cap(
        run,
        layer.annual_cap,
        AccKey::FundPaid(layer.fund),
        uncapped,
    );
    out.trace.push(TraceStep::LargeAmount {
        fund: layer.fund,
        basic_available,
        cost_used_by_basic,
        above,
        ratio: layer.ratio,
        uncapped,
        available,
        paid,
    });
    add_payment(run, out, layer.fund, above, available, paid);
    run.inscp_left -= paid;
}

/// The first tier whose identities the person holds on the settlement date; a tier without
/// identities matches everyone.
fn choose_tier<'t>(tiers: &'t [Tier], run: &Run) -> Option<(u8, &'t Tier)> {
    let date = run.visit.settlement_date();
    tiers
        .iter()
        .enumerate()
        .find(|(_, t)| {
            t.identities.is_empty()
                || t.identities
                    .iter()
                    .any(|c| run.person.has_identity(*c, date))
        })
        .map(|(i, t)| (i as u8, t))
}

fn pay_catastrophic(run: &mut Run, bucket: &Bucket, out: &mut Settlement) {
    let Some(layer) = run
        .scheme
        .catastrophic
        .as_ref()
        .filter(|l| l.buckets.contains(&bucket.id))
    else {
        return;
    };
    let Some((tier_index, tier)) = choose_tier(&layer.tiers, run) else {
        return;
    };
    let added = run.inscp_left.clamp_non_negative();
    let base_before = Fen(run.ytd.get(AccKey::CatastrophicBase));
    let schedule = Schedule::new(
        tier.ratio,
        &tier.bands,
        RatioAdjust::default(),
        run.policy.rounding,
    );
    let above_before = (base_before - tier.deductible).clamp_non_negative();
    let above_after = (base_before + added - tier.deductible).clamp_non_negative();
    let uncapped = schedule.pay(above_before, above_after - above_before);
    let (available, paid) =
        within_cap(run, tier.annual_cap, AccKey::FundPaid(layer.fund), uncapped);
    out.trace.push(TraceStep::Catastrophic {
        fund: layer.fund,
        tier: tier_index,
        base_before,
        added,
        deductible: tier.deductible,
        uncapped,
        available,
        paid,
    });
    add_payment(run, out, layer.fund, added, available, paid);
    run.inscp_left -= paid;
    push_posting(out, AccKey::CatastrophicBase, added.fen());
}

fn pay_civil_servant(run: &mut Run, bucket: &Bucket, out: &mut Settlement) {
    if !run.person.civil_servant {
        return;
    }
    let Some(layer) = run
        .scheme
        .civil_servant
        .as_ref()
        .filter(|l| l.buckets.contains(&bucket.id))
    else {
        return;
    };
    let Some(ratio) = layer
        .ratios
        .iter()
        .find(|r| open_match(&r.psn_types, &run.person.psn_type))
        .map(|r| r.ratio)
    else {
        return;
    };
    let base = run.inscp_left.clamp_non_negative();
    let paid = run.policy.rounding.apply(base, ratio);
    out.trace.push(TraceStep::CivilServant {
        fund: layer.fund,
        base,
        ratio,
        paid,
    });
    add_payment(run, out, layer.fund, base, None, paid);
    run.inscp_left -= paid;
}

fn pay_assistance(run: &mut Run, bucket: &Bucket, out: &mut Settlement) {
    let Some(layer) = run
        .scheme
        .assistance
        .as_ref()
        .filter(|l| l.buckets.contains(&bucket.id))
    else {
        return;
    };
    let Some((tier_index, tier)) = choose_tier(&layer.tiers, run) else {
        return;
    };
    let base = run.inscp_left.clamp_non_negative();
    let schedule = Schedule::new(
        tier.ratio,
        &tier.bands,
        RatioAdjust::default(),
        run.policy.rounding,
    );
    let uncapped = schedule.pay(Fen::ZERO, (base - tier.deductible).clamp_non_negative());
    let (available, paid) =
        within_cap(run, tier.annual_cap, AccKey::FundPaid(layer.fund), uncapped);
    out.trace.push(TraceStep::Assistance {
        fund: layer.fund,
        tier: tier_index,
        base,
        deductible: tier.deductible,
        uncapped,
        available,
        paid,
    });
    add_payment(run, out, layer.fund, base, available, paid);
    run.inscp_left -= paid;
}

fn pay_backstop(run: &mut Run, bucket: &Bucket, out: &mut Settlement) {
    let Some(layer) = run
        .scheme
        .backstop
        .as_ref()
        .filter(|l| l.buckets.contains(&bucket.id))
    else {
        return;
    };
    let date = run.visit.settlement_date();
    if !layer
        .identities
        .iter()
        .any(|c| run.person.has_identity(*c, date))
    {
        return;
    }
    let Some(cap) = layer
        .caps
        .iter()
        .find(|c| c.region.matches(run.place) && open_match(&c.levels, &run.level))
    else {
        return;
    };
    let left = run.inscp_left.clamp_non_negative();
    let burden_before = Fen(run.ytd.get(AccKey::BackstopBurden));
    let paid = left.min((burden_before + left - cap.oop_cap).clamp_non_negative());
    out.trace.push(TraceStep::Backstop {
        fund: layer.fund,
        oop_cap: cap.oop_cap,
        burden_before,
        left,
        paid,
    });
    add_payment(run, out, layer.fund, left, None, paid);
    run.inscp_left -= paid;
    push_posting(out, AccKey::BackstopBurden, (left - paid).fen());
}

/// Without benefits, the payer that would have paid first — the regime's fund, else the scheme's
/// personal account — gets a zero row explained by the last trace step (the reason), so that
/// `setldetail` states why nothing was paid.
fn state_no_benefits(run: &Run, out: &mut Settlement) {
    if let Some(bucket) = run.bucket {
        add_payment(run, out, bucket.fund, Fen::ZERO, None, Fen::ZERO);
    } else if let Some(account) = &run.scheme.account {
        out.funds.push(TracedFundRow {
            row: FundRow {
                fund_pay_type: account.fund,
                payer: Payer::PersonalAccount,
                inscp_scp_amt: Fen::ZERO,
                crt_payb_lmt_amt: None,
                fund_payamt: Fen::ZERO,
            },
            trace_step: out.trace.len() - 1,
        });
    }
}

/// Patient share, account, cash, balance, and the accumulator postings common to every settlement.
fn finish(run: &Run, balance: Fen, out: &mut Settlement) {
    let totals = &mut out.totals;
    totals.psn_part_amt = totals.medfee_sumamt - totals.fund_pay_sumamt - totals.hosp_part_amt;
    let covered = run.person.coverage == Coverage::Covered;
    let account = run
        .scheme
        .account
        .as_ref()
        .filter(|_| run.visit.use_account && covered);
    let mut acct_pay = Fen::ZERO;
    if let Some(account) = account {
        let payable = match account.covers {
            yibao_policy::AccountCovers::AllPersonal => totals.psn_part_amt,
            yibao_policy::AccountCovers::InScope => totals.psn_part_amt.min(run.inscp_left),
        }
        .clamp_non_negative();
        acct_pay = payable.min(balance.clamp_non_negative());
        out.trace.push(TraceStep::Account {
            fund: account.fund,
            payable,
            balance,
            paid: acct_pay,
        });
        if acct_pay != Fen::ZERO {
            out.funds.push(TracedFundRow {
                row: FundRow {
                    fund_pay_type: account.fund,
                    payer: Payer::PersonalAccount,
                    inscp_scp_amt: payable,
                    crt_payb_lmt_amt: Some(balance),
                    fund_payamt: acct_pay,
                },
                trace_step: out.trace.len() - 1,
            });
        }
    }
    let totals = &mut out.totals;
    totals.acct_pay = acct_pay;
    totals.psn_cash_pay = totals.psn_part_amt - acct_pay;
    out.balc = balance - acct_pay;
    let cash = totals.psn_cash_pay;
    out.trace.push(TraceStep::Cash { amount: cash });
    post_common(run, out);
}

fn post_common(run: &Run, out: &mut Settlement) {
    let counts_admission = run
        .bucket
        .is_some_and(|b| b.deductible_kind == DeductibleKind::PerAdmission)
        && !run.visit.interim;
    if counts_admission {
        push_posting(out, AccKey::Admissions, 1);
    }
    push_posting(out, AccKey::MedicalExpense, out.totals.medfee_sumamt.fen());
    push_posting(out, AccKey::Deductible, out.totals.act_pay_dedc.fen());
    for index in 0..out.funds.len() {
        let row = out.funds[index].row;
        push_posting(
            out,
            AccKey::FundPaid(row.fund_pay_type),
            row.fund_payamt.fen(),
        );
    }
}

/// The cap still available this year (before the visit) and the payment limited by it.
fn within_cap(run: &Run, cap: Option<Fen>, used: AccKey, uncapped: Fen) -> (Option<Fen>, Fen) {
    let available = cap.map(|cap| (cap - Fen(run.ytd.get(used))).clamp_non_negative());
    (available, available.map_or(uncapped, |a| uncapped.min(a)))
}

fn push_posting(out: &mut Settlement, key: AccKey, amount: i64) {
    if amount != 0 {
        out.postings.push(Posting { key, amount });
    }
}
