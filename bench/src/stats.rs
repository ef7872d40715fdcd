//! Percentiles and the median / min–max summaries of the reports.

use serde::{Deserialize, Serialize};

/// The `q`-quantile (0..=1) of sorted values, nearest rank; `None` when empty.
pub fn quantile_sorted<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// p50 / p99 / max of latency samples in microseconds, as milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Samples.
    pub count: usize,
    /// Median (ms).
    pub p50_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
}

impl Latency {
    /// Sorts `micros` in place and summarizes it.
    pub fn of(micros: &mut [u32]) -> Latency {
        micros.sort_unstable();
        let ms = |v: Option<u32>| v.map_or(0.0, |v| v as f64 / 1000.0);
        Latency { count: micros.len(), p50_ms: ms(quantile_sorted(micros, 0.5)), p99_ms: ms(quantile_sorted(micros, 0.99)), max_ms: ms(micros.last().copied()) }
    }
}

/// Median with min and max over repetitions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Spread {
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Repetitions that produced a value.
    pub n: usize,
}

impl Spread {
    /// The spread of the finite values; `None` when there is none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Spread { median, min: v[0], max: v[n - 1], n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_spread() {
        let mut v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        let l = Latency::of(&mut v);
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (50.0, 99.0, 100.0));
        let s = Spread::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 10.0, 4));
        assert!(Spread::of(&[f64::NAN]).is_none());
    }
}
