//! Request bodies read with a deadline: every payload is wrapped so a client that trickles its body
//! gets an error (408) instead of holding a connection forever; small forms read by hand, so
//! handlers can check the sign-in before reading anything.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// A payload that fails with `TimedOut` once its deadline passes.
pub struct Deadline<S> {
    inner: S,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl<S> Deadline<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep(limit)),
            expired: false,
        }
    }
}

/// The error a late body ends with.
pub fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "request body not received in time",
    ))
}

/// Whether a payload error is the deadline's.
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.expired = true;
                    Poll::Ready(Some(Err(timed_out())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Wraps a request's payload in a [`Deadline`] (the app's middleware calls this on every request).
pub fn with_deadline(payload: Payload, limit: Duration) -> Payload {
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(Deadline::new(payload, limit));
    Payload::from(stream)
}

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    TooLarge,
    TimedOut,
    Broken,
}

/// Reads an `application/x-www-form-urlencoded` body of at most `limit` bytes (the payload is
/// already under the request's deadline) into its key/value pairs.
pub async fn read_form(
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> Result<Vec<(String, String)>, FormError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            if is_timeout(&e) {
                FormError::TimedOut
            } else {
                FormError::Broken
            }
        })?;
        if body.len() + chunk.len() > limit {
            return Err(FormError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The value of `key` in a form read by [`read_form`].
pub fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_ends_with_a_timeout() {
        let never = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
        let mut s = Deadline::new(never, Duration::from_secs(10));
        match s.next().await {
            Some(Err(e)) => assert!(is_timeout(&e)),
            other => panic!("{other:?}"),
        }
        assert!(s.next().await.is_none());
    }
}
