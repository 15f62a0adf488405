//! A client-side token bucket: calsync stays under its configured requests per minute before Google says 429.

use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Mutex;

/// Requests per minute, with a burst of up to a tenth of a minute's budget.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn per_minute(n: u32) -> Self {
        let per_sec = f64::from(n.max(1)) / 60.0;
        let burst = (f64::from(n) / 10.0).max(1.0);
        Self {
            per_sec,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until one request may go.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(s.1).as_secs_f64() * self.per_sec;
                s.0 = (s.0 + refill).min(self.burst);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.per_sec)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let l = RateLimiter::per_minute(600); // 10/s, burst 60
        let start = tokio::time::Instant::now();
        for _ in 0..70 {
            l.acquire().await;
        }
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(900), "{waited:?}");
        assert!(waited <= Duration::from_millis(1100), "{waited:?}");
    }
}
