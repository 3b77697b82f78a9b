//! The cross-region report (异地就医直接结算情况, `clearing-and-budgets.md` §6.4): for each of the
//! platform's pooling regions, its outbound care (its insured treated elsewhere: what its fund owes
//! through clearing) and inbound care (others' insured treated at its institutions: what it is
//! owed), per scheme, partner region and kind of care — admissions (or visits), total cost, fund
//! paid, fund share and average cost. Pure: the caller sums the ledger's settlements per group.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use yibao_domain::{Code, Fen, Ratio, Rounding};

use crate::PoolingRegions;

/// Direction of cross-region care, seen from a region of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The region's insured treated in the partner region (异地就医 outbound).
    Outbound,
    /// The partner region's insured treated in the region (异地就医 inbound).
    Inbound,
}

impl Direction {
    /// The name in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound 参保地",
            Direction::Inbound => "inbound 就医地",
        }
    }
}

/// Inpatient care (settlements are admissions) or outpatient (visits, pharmacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Care {
    Inpatient,
    Outpatient,
}

impl Care {
    /// The name in JSON and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Care::Inpatient => "inpatient",
            Care::Outpatient => "outpatient",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Care::Inpatient => "住院",
            Care::Outpatient => "门诊",
        }
    }
}

/// The ledger's settlements of one group summed: cancellations count −1 and carry negated amounts;
/// interim settlements of a stay count 0 (the stay is one admission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementSums {
    /// `clr_optins`.
    pub insured_admdvs: Code,
    /// The place of treatment.
    pub treating_admdvs: Code,
    pub insutype: Code,
    pub care: Care,
    pub count: i64,
    pub total_cost: Fen,
    pub fund_paid: Fen,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossRegionLine {
    /// The platform's pooling region the line is about.
    pub region: Code,
    pub direction: Direction,
    pub insutype: Code,
    /// The other region (another of the platform's, or another platform's).
    pub partner: Code,
    pub care: Care,
    /// Admissions (inpatient) or visits, net of cancellations.
    pub count: i64,
    /// Σ `medfee_sumamt`.
    pub total_cost: Fen,
    /// Σ `fund_pay_sumamt`: owed through clearing by the insured region.
    pub fund_paid: Fen,
    /// `fund_paid ÷ total_cost`, rounded to a basis point; absent when the cost is not positive.
    pub fund_share: Option<Ratio>,
    /// `total_cost ÷ count`, rounded; absent when the count is not positive.
    pub average_cost: Option<Fen>,
}

type LineKey = (Code, Direction, Code, Code, Care);

/// The report of `sums`: a group between two regions of the platform gives an outbound line of
/// the insured region and an inbound line of the treating region; with another platform's region,
/// the line of the platform's side. Care within one pooling region is left out. Lines by region,
/// direction, scheme, partner and care.
pub fn cross_region_lines(
    regions: &PoolingRegions,
    sums: &[SettlementSums],
    rounding: Rounding,
) -> Vec<CrossRegionLine> {
    let mut lines: BTreeMap<LineKey, (i64, Fen, Fen)> = BTreeMap::new();
    for s in sums {
        let insured = regions.region_of(s.insured_admdvs);
        let treating = regions.region_of(s.treating_admdvs);
        if insured == treating {
            continue;
        }
        let sides = [
            (insured, Direction::Outbound, treating),
            (treating, Direction::Inbound, insured),
        ];
        for (region, direction, partner) in sides {
            if !regions.knows(region) {
                continue;
            }
            let line = lines
                .entry((region, direction, s.insutype, partner, s.care))
                .or_default();
            line.0 += s.count;
            line.1 += s.total_cost;
            line.2 += s.fund_paid;
        }
    }
    lines
        .into_iter()
        .map(
            |((region, direction, insutype, partner, care), (count, total_cost, fund_paid))| {
                CrossRegionLine {
                    region,
                    direction,
                    insutype,
                    partner,
                    care,
                    count,
                    total_cost,
                    fund_paid,
                    fund_share: share(rounding, fund_paid, total_cost),
                    average_cost: (count > 0)
                        .then(|| rounding.div(i128::from(total_cost.0), i128::from(count))),
                }
            },
        )
        .collect()
}

fn share(rounding: Rounding, part: Fen, whole: Fen) -> Option<Ratio> {
    if whole <= Fen(0) {
        return None;
    }
    let bp = rounding.div(i128::from(part.0) * 10_000, i128::from(whole.0));
    Ratio::from_bp_checked(bp.0).ok()
}

fn text_of<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_string(), |v| v.to_string())
}

/// The report as a text table under `title`.
pub fn render_table(title: &str, lines: &[CrossRegionLine]) -> String {
    let mut out = format!("异地就医直接结算 {title}\n");
    let _ = writeln!(
        out,
        "{:<8} {:<16} {:<8} {:<8} {:<5} {:>8} {:>16} {:>16} {:>8} {:>12}",
        "region",
        "direction",
        "insutype",
        "partner",
        "care",
        "count",
        "total_cost",
        "fund_paid",
        "share",
        "avg_cost"
    );
    for l in lines {
        let _ = writeln!(
            out,
            "{:<8} {:<16} {:<8} {:<8} {:<5} {:>8} {:>16} {:>16} {:>8} {:>12}",
            l.region.as_str(),
            l.direction.label(),
            l.insutype.as_str(),
            l.partner.as_str(),
            l.care.label(),
            l.count,
            l.total_cost.to_string(),
            l.fund_paid.to_string(),
            text_of(l.fund_share),
            text_of(l.average_cost),
        );
    }
    if lines.is_empty() {
        out.push_str("（本期没有异地就医结算）\n");
    }
    out
}

/// The report as CSV with a header row; amounts in yuan, the share as a fraction.
pub fn render_csv(lines: &[CrossRegionLine]) -> String {
    let mut out = String::from(
        "region,direction,insutype,partner,care,count,total_cost,fund_paid,fund_share,average_cost\n",
    );
    for l in lines {
        let share = l
            .fund_share
            .map(|r| format!("{}.{:04}", r.bp() / 10_000, r.bp() % 10_000))
            .unwrap_or_default();
        let average = l.average_cost.map(|f| f.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{share},{average}",
            l.region.as_str(),
            l.direction.name(),
            l.insutype.as_str(),
            l.partner.as_str(),
            l.care.name(),
            l.count,
            l.total_cost,
            l.fund_paid,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> PoolingRegions {
        PoolingRegions::new(vec![
            (Code::lit("360400"), vec!["3604".into()]),
            (Code::lit("360100"), vec!["3601".into()]),
        ])
    }

    fn sums(insured: &str, treating: &str, count: i64, cost: i64, fund: i64) -> SettlementSums {
        SettlementSums {
            insured_admdvs: Code::lit(insured),
            treating_admdvs: Code::lit(treating),
            insutype: Code::lit("390"),
            care: Care::Inpatient,
            count,
            total_cost: Fen(cost),
            fund_paid: Fen(fund),
        }
    }

    /// 九江 2019 (§6.4): 21,109 outbound admissions, 48,184.34万 cost, 28,974.88万 fund paid →
    /// 60.13 %, 22,826 yuan on average; 8,285 inbound, 9,638.40万, 4,078.68万 → 42.32 %, 11,634.
    #[test]
    fn jiujiang_2019_shares_and_averages() {
        let wan = |yuan_wan: i64| yuan_wan * 1_000_000 / 100; // 万元 × 100 (two decimals) → fen
        let lines = cross_region_lines(
            &regions(),
            &[
                sums("360402", "440100", 21_109, wan(4_818_434), wan(2_897_488)),
                sums("440100", "360403", 8_285, wan(963_840), wan(407_868)),
                sums("360400", "360402", 7, 700, 70),
            ],
            Rounding::default(),
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        let out = &lines[0];
        assert_eq!(
            (out.direction, out.partner),
            (Direction::Outbound, Code::lit("440100"))
        );
        assert_eq!(out.fund_share.unwrap().to_string(), "60.13%");
        // 22,826.44 yuan (the report's 22,826).
        assert_eq!(out.average_cost, Some(Fen(2_282_644)));
        let inbound = &lines[1];
        assert_eq!(inbound.direction, Direction::Inbound);
        assert_eq!(inbound.fund_share.unwrap().to_string(), "42.32%");
        // 11,633.55 yuan (the report's 11,634).
        assert_eq!(inbound.average_cost, Some(Fen(1_163_355)));
    }

    #[test]
    fn a_pair_of_the_platform_gives_both_sides_and_nothing_is_divided_by_zero() {
        let lines = cross_region_lines(
            &regions(),
            &[sums("360400", "360102", 0, 0, 0)],
            Rounding::default(),
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].region, Code::lit("360100"));
        assert_eq!(lines[0].direction, Direction::Inbound);
        assert_eq!(lines[1].region, Code::lit("360400"));
        assert!(lines
            .iter()
            .all(|l| l.fund_share.is_none() && l.average_cost.is_none()));
        assert!(render_csv(&lines).lines().count() == 3);
        assert!(render_table("2026", &lines).contains("inbound 就医地"));
    }
}
