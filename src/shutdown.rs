//! One cancellation token for the whole process: SIGTERM or ctrl-c cancels it, every loop watches it.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on SIGTERM or ctrl-c (whichever comes first).
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested"),
            _ = term => tracing::info!(signal = "SIGTERM", "shutdown requested"),
            _ = token.cancelled() => return,
        }
        token.cancel();
    });
}
