//! A rate over sliding sample windows (Kafka's quota.window.num samples of
//! quota.window.size.seconds). One deliberate difference from Kafka's `Rate` stat: Kafka averages
//! a young sensor over at least `samples - 1` windows, which lets a new client send ten seconds'
//! worth of quota in its first second and then stall; here the rate is over the time actually
//! elapsed (at least one window), so a client is held to its quota from its first second.

use std::collections::VecDeque;

/// Kafka's quota.window.num and quota.window.size.seconds defaults.
pub const SAMPLES: usize = 11;
pub const SAMPLE_WINDOW_MS: i64 = 1_000;

#[derive(Debug, Default)]
pub struct Rate {
    /// (window start, total recorded in it), oldest first; at most SAMPLES entries.
    windows: VecDeque<(i64, f64)>,
}

impl Rate {
    pub fn record(&mut self, now_ms: i64, value: f64) {
        match self.windows.back_mut() {
            Some((start, total)) if now_ms < *start + SAMPLE_WINDOW_MS => *total += value,
            _ => {
                self.windows.push_back((now_ms, value));
                if self.windows.len() > SAMPLES {
                    self.windows.pop_front();
                }
            }
        }
        self.forget_before(now_ms);
    }

    fn forget_before(&mut self, now_ms: i64) {
        let span = SAMPLES as i64 * SAMPLE_WINDOW_MS;
        while self.windows.front().is_some_and(|(start, _)| *start + span <= now_ms) {
            self.windows.pop_front();
        }
    }

    /// (units per second, the span in ms it was averaged over).
    pub fn measure(&self, now_ms: i64) -> (f64, i64) {
        let Some((oldest, _)) = self.windows.front() else {
            return (0.0, 0);
        };
        let total: f64 = self.windows.iter().map(|(_, v)| v).sum();
        let elapsed = (now_ms - oldest).max(SAMPLE_WINDOW_MS);
        (total * 1000.0 / elapsed as f64, elapsed)
    }

    /// How long the client must pause so its rate falls back to `quota` (Kafka's
    /// ClientQuotaManager.throttleTime), at most one full measurement span; 0 within quota.
    pub fn throttle_ms(&self, now_ms: i64, quota: f64) -> i64 {
        let (rate, span) = self.measure(now_ms);
        if rate <= quota || quota <= 0.0 {
            return 0;
        }
        let ms = ((rate - quota) / quota * span as f64).round() as i64;
        ms.min(SAMPLES as i64 * SAMPLE_WINDOW_MS)
    }

    /// True when nothing was recorded within the measurement span.
    pub fn is_idle(&self, now_ms: i64) -> bool {
        self.windows
            .back()
            .is_none_or(|(start, _)| *start + SAMPLES as i64 * SAMPLE_WINDOW_MS <= now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_young_sensor_averages_over_at_least_one_window() {
        let mut r = Rate::default();
        r.record(0, 900.0);
        assert_eq!(r.measure(500), (900.0, 1_000));
        assert_eq!(r.throttle_ms(500, 1_000.0), 0);
        r.record(600, 1_100.0);
        // 2,000 in the first second against a quota of 1,000/s: pause one more second.
        assert_eq!(r.measure(600), (2_000.0, 1_000));
        assert_eq!(r.throttle_ms(600, 1_000.0), 1_000);
        r.record(3_000, 1_000.0);
        assert_eq!(r.measure(3_000), (1_000.0, 3_000));
        assert_eq!(r.throttle_ms(3_000, 1_000.0), 0);
    }

    #[test]
    fn record_old_windows_fall_out_of_the_span() {
        let mut r = Rate::default();
        r.record(0, 5.0);
        for t in 1..=20 {
            r.record(t * 1_000, 1.0);
        }
        assert_eq!(r.windows.len(), SAMPLES);
        let (rate, span) = r.measure(20_500);
        assert_eq!(span, 10_500);
        assert!((rate - 11.0 / 10.5).abs() < 1e-9);
        assert!(!r.is_idle(20_500) && r.is_idle(31_000));
    }
}
