//! Seeded randomness. Every part of the region draws from its own ChaCha8 stream derived from
//! the seed (persons one stream each), so the output depends only on the seed and the inputs,
//! never on iteration order elsewhere, and is identical on every platform: only integer
//! arithmetic is used on drawn values.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::tables::{Spread, LOGNORMAL_BP};

/// Independent streams, one per purpose; the per-person and per-visit ranges do not overlap.
#[derive(Copy, Clone, Debug)]
#[repr(u64)]
pub enum Stream {
    Catalog = 1,
    Institutions = 2,
    Population = 3,
    Employers = 4,
    /// Per-person visit streams start here (`Visits + person index`).
    Visits = 16,
    /// Planted fraud (`--fraud`).
    Fraud = 1 << 61,
    /// Per-visit fee-line streams start here (`Lines + (person << 24 | visit number)`).
    Lines = 1 << 62,
}

/// A drawer over one stream.
pub struct Draw {
    rng: ChaCha8Rng,
}

impl Draw {
    /// The stream `stream + offset` of `seed`.
    pub fn new(seed: u64, stream: Stream, offset: u64) -> Draw {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream((stream as u64).wrapping_add(offset));
        Draw { rng }
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.gen_range(0..n)
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        self.rng.gen_range(low..=high)
    }

    /// True with probability `per_mille / 1000`.
    pub fn per_mille(&mut self, per_mille: u32) -> bool {
        self.rng.gen_range(0..1000) < per_mille
    }

    /// True with probability `per_million / 1,000,000`.
    pub fn per_million(&mut self, per_million: u64) -> bool {
        self.rng.gen_range(0..1_000_000) < per_million
    }

    /// An index chosen with probability proportional to `weights` (not all zero).
    pub fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut target = self.below(total.max(1));
        for (index, weight) in weights.enumerate() {
            let weight = u64::from(weight);
            if target < weight {
                return index;
            }
            target -= weight;
        }
        0
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A log-normal multiplier in basis points (median 10,000), linearly interpolated between
    /// the table's quantiles.
    pub fn lognormal_bp(&mut self, spread: Spread) -> i64 {
        let table = &LOGNORMAL_BP[spread as usize];
        let index = self.below(table.len() as u64 - 1) as usize;
        let (low, high) = (i64::from(table[index]), i64::from(table[index + 1]));
        low + (high - low) * self.between(0, 1023) / 1024
    }

    /// `median` scaled by a log-normal multiplier, at least `floor`.
    pub fn lognormal(&mut self, median: i64, spread: Spread, floor: i64) -> i64 {
        (median * self.lognormal_bp(spread) / 10_000).max(floor)
    }

    /// A raw 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}
