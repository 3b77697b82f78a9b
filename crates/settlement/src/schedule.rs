//! Ratio schedules: a single ratio or amount bands, with the remote-care ratio adjustments, as
//! exact piecewise-linear functions in units of fen × basis points. Rounding happens only when a
//! payment is taken out of a schedule, once, with the policy's rounding.

use yibao_domain::BP_PER_ONE;
use yibao_domain::{Fen, Ratio, Rounding};
use yibao_policy::Band;

/// Remote-care ratio reductions (M2 then M3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatioAdjust {
    pub minus: Ratio,
    pub factor: Option<Ratio>,
}

impl RatioAdjust {
    pub fn is_identity(&self) -> bool {
        self.minus == Ratio::ZERO && self.factor.is_none()
    }

    /// `round_bp(max(0, r − minus) × factor)`.
    pub fn apply(&self, ratio: Ratio, rounding: Rounding) -> Ratio {
        let reduced = ratio.bp().saturating_sub(self.minus.bp());
        match self.factor {
            Some(factor) => {
                let scaled = rounding.div(
                    i128::from(reduced) * i128::from(factor.bp()),
                    i128::from(BP_PER_ONE),
                );
                Ratio(scaled.fen().clamp(0, i64::from(BP_PER_ONE)) as u32)
            }
            None => Ratio(reduced),
        }
    }
}

/// A payment function over an amount.
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'p> {
    ratio: Option<Ratio>,
    bands: &'p [Band],
    adjust: RatioAdjust,
    rounding: Rounding,
}

impl<'p> Schedule<'p> {
    pub fn new(
        ratio: Option<Ratio>,
        bands: &'p [Band],
        adjust: RatioAdjust,
        rounding: Rounding,
    ) -> Schedule<'p> {
        Schedule {
            ratio,
            bands,
            adjust,
            rounding,
        }
    }

    /// The single ratio after adjustment, or `None` for a banded schedule.
    pub fn single_ratio(&self) -> Option<Ratio> {
        self.ratio.map(|r| self.adjust.apply(r, self.rounding))
    }

    /// The adjusted ratio of one band.
    fn band_ratio(&self, band: &Band) -> Ratio {
        self.adjust.apply(band.ratio, self.rounding)
    }

    /// `F(x)` in fen × bp: the exact (unrounded) payment on an amount `x` measured from 0.
    /// Odd-symmetric, so negative amounts (refunds) mirror positive ones.
    pub fn value_bp_fen(&self, x: Fen) -> i128 {
        if x.fen() < 0 {
            return -self.value_bp_fen(-x);
        }
        let x = i128::from(x.fen());
        match self.single_ratio() {
            Some(r) => x * i128::from(r.bp()),
            None => {
                let mut lower = 0i128;
                let mut total = 0i128;
                for band in self.bands {
                    let upper = band.upto.map_or(i128::MAX, |u| i128::from(u.fen()));
                    if x <= lower {
                        break;
                    }
                    total += (x.min(upper) - lower) * i128::from(self.band_ratio(band).bp());
                    lower = upper;
                }
                total
            }
        }
    }

    /// The rounded payment on `amount` when `start` has already been counted this period
    /// (difference form: `round(F(start + amount) − F(start))`).
    pub fn pay(&self, start: Fen, amount: Fen) -> Fen {
        let exact = self.value_bp_fen(start + amount) - self.value_bp_fen(start);
        self.rounding.round_bp_fen(exact)
    }

    /// The smallest amount `x ≥ 0` (whole fen, rounded up) with `F(start + x) − F(start) ≥ target`;
    /// `None` when the schedule never pays that much.
    pub fn inverse_ceil(&self, start: Fen, target: Fen) -> Option<Fen> {
        let target_bp_fen = i128::from(target.fen()) * i128::from(BP_PER_ONE);
        if target_bp_fen <= 0 {
            return Some(Fen::ZERO);
        }
        let start_fen = i128::from(start.fen().max(0));
        match self.single_ratio() {
            Some(r) => walk_segments(
                std::iter::once((0, i128::MAX, r.bp())),
                start_fen,
                target_bp_fen,
            ),
            None => {
                let mut lower = 0i128;
                let segments = self.bands.iter().map(|band| {
                    let upper = band.upto.map_or(i128::MAX, |u| i128::from(u.fen()));
                    let segment = (lower, upper, self.band_ratio(band).bp());
                    lower = upper;
                    segment
                });
                walk_segments(segments, start_fen, target_bp_fen)
            }
        }
    }
}

/// Walks `(lower, upper, ratio_bp)` segments from `start` until `target` (fen × bp) is paid.
fn walk_segments(
    segments: impl Iterator<Item = (i128, i128, u32)>,
    start: i128,
    target: i128,
) -> Option<Fen> {
    let mut remaining = target;
    for (lower, upper, ratio_bp) in segments {
        let from = lower.max(start);
        if upper <= from || ratio_bp == 0 {
            continue;
        }
        let ratio = i128::from(ratio_bp);
        let capacity = (upper - from).saturating_mul(ratio);
        if capacity >= remaining {
            let needed = (remaining + ratio - 1) / ratio;
            return i64::try_from(from + needed - start).ok().map(Fen);
        }
        remaining -= capacity;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(upto: Option<i64>, bp: u32) -> Band {
        Band {
            upto: upto.map(Fen::from_yuan),
            ratio: Ratio(bp),
        }
    }

    #[test]
    fn single_ratio_pays_and_inverts() {
        let s = Schedule::new(
            Some(Ratio(6000)),
            &[],
            RatioAdjust::default(),
            Rounding::default(),
        );
        assert_eq!(
            s.pay(Fen::ZERO, Fen::from_yuan(53_400)),
            Fen::from_yuan(32_040)
        );
        assert_eq!(s.inverse_ceil(Fen::ZERO, Fen(100)), Some(Fen(167)));
    }

    #[test]
    fn bands_use_the_difference_form() {
        let bands = [band(Some(20_000), 7000), band(None, 6000)];
        let s = Schedule::new(None, &bands, RatioAdjust::default(), Rounding::default());
        assert_eq!(
            s.pay(Fen::ZERO, Fen::from_yuan(30_000)),
            Fen::from_yuan(14_000 + 6_000)
        );
        assert_eq!(
            s.pay(Fen::from_yuan(15_000), Fen::from_yuan(10_000)),
            Fen::from_yuan(3_500 + 3_000)
        );
        assert_eq!(
            s.inverse_ceil(Fen::from_yuan(15_000), Fen::from_yuan(6_500)),
            Some(Fen::from_yuan(10_000))
        );
        assert_eq!(
            s.pay(Fen::ZERO, Fen::from_yuan(-30_000)),
            -Fen::from_yuan(20_000)
        );
    }

    #[test]
    fn remote_adjustments() {
        let r = Rounding::default();
        assert_eq!(
            RatioAdjust {
                minus: Ratio(1000),
                factor: None
            }
            .apply(Ratio(8500), r),
            Ratio(7500)
        );
        assert_eq!(
            RatioAdjust {
                minus: Ratio::ZERO,
                factor: Some(Ratio(8000))
            }
            .apply(Ratio(8500), r),
            Ratio(6800)
        );
        assert_eq!(
            RatioAdjust {
                minus: Ratio(9000),
                factor: None
            }
            .apply(Ratio(8500), r),
            Ratio::ZERO
        );
        let zero = Schedule::new(Some(Ratio::ZERO), &[], RatioAdjust::default(), r);
        assert_eq!(zero.inverse_ceil(Fen::ZERO, Fen(1)), None);
    }
}
