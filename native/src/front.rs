//! The query front: the worker's HTTP port, served from a thread of its own
//! that never takes the GIL for what it can answer itself.
//!
//! `GET /advertisers/{id}/budget` for an advertiser whose budget a commit of this
//! worker handed over (`publish`) is answered here, from that committed value,
//! while the worker is ready and actively owns the key's partition (`activate`);
//! every other request (other routes, keys not handed over, other owners, a worker
//! not ready) goes on to the worker's own web server (Faust's views) on a loopback
//! port, and its answer comes back unchanged. So the fast path answers exactly what
//! the view would, without waiting for the GIL behind the stream processing.
//!
//! With a bearer token (HTTP_AUTH_TOKEN), every request but the probes and the
//! metrics must carry it: one without it is refused here with a 401, before any
//! answer or forwarding, and the worker's web server checks it again.

use crate::budget::{public_budget_json, Budget};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

type Body = BoxBody<Bytes, hyper::Error>;
type Backend = Client<HttpConnector, Incoming>;

struct Entry {
    partition: u32,
    stored: Bytes, // the budget's stored JSON, as committed
}

#[derive(Default)]
struct State {
    ready: bool,
    active: HashSet<u32>,
    entries: HashMap<Box<str>, Entry>,
}

struct Shared {
    state: RwLock<State>,
    max_entries: usize,
    hits: AtomicU64,
    forwarded: AtomicU64,
    // Latency of the answers given here: counts per bucket (upper bounds in
    // LATENCY_BOUNDS_US, the last one unbounded) and their sum, for GET /metrics.
    latency_buckets: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    latency_sum_ns: AtomicU64,
    token: Option<Box<[u8]>>, // HTTP_AUTH_TOKEN; None: no authentication
}

/// Upper bounds of the answer-latency buckets in microseconds (Prometheus's `le`, as
/// streaming/metrics.py's LATENCY_BUCKETS in seconds).
const LATENCY_BOUNDS_US: [u64; 13] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// Paths answered without a token: the orchestrator's probes and the metrics scrape.
const OPEN_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

impl Shared {
    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn state_mut(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[pyclass(module = "budget_kernel")]
pub struct QueryFront {
    shared: Arc<Shared>,
    port: u16,
    scheduling: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[pymethods]
impl QueryFront {
    /// Listen on `bind:port` (0: any free port) and forward what is not answered
    /// here to `127.0.0.1:backend_port`; keep at most `max_entries` budgets. With
    /// `realtime`, the serving thread asks for SCHED_FIFO (see `realtime`). With
    /// `auth_token`, requests must carry `Authorization: Bearer <auth_token>`.
    #[new]
    #[pyo3(signature = (bind, port, backend_port, max_entries, realtime=false, auth_token=None))]
    fn new(
        bind: &str,
        port: u16,
        backend_port: u16,
        max_entries: usize,
        realtime: bool,
        auth_token: Option<&str>,
    ) -> PyResult<Self> {
        let listener = std::net::TcpListener::bind((bind, port)).map_err(|e| {
            PyOSError::new_err(format!("query front: cannot listen on {bind}:{port}: {e}"))
        })?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            state: RwLock::new(State::default()),
            max_entries,
            hits: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            latency_buckets: Default::default(),
            latency_sum_ns: AtomicU64::new(0),
            token: auth_token.map(|t| t.as_bytes().into()),
        });
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let serving = shared.clone();
        let (scheduled, policy) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("query-front".into())
            .spawn(move || {
                let _ = scheduled.send(if realtime { go_realtime() } else { Ok(()) });
                runtime.block_on(serve(listener, serving, backend_port, stopped))
            })?;
        let scheduling = match policy.recv() {
            Ok(Ok(())) if realtime => "SCHED_FIFO".to_owned(),
            Ok(Err(reason)) => format!("normal (SCHED_FIFO refused: {reason})"),
            _ => "normal".to_owned(),
        };
        Ok(QueryFront {
            shared,
            port,
            scheduling,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// How the serving thread is scheduled: "SCHED_FIFO", or "normal" (and why).
    #[getter]
    fn scheduling(&self) -> &str {
        &self.scheduling
    }

    /// A commit of `partition` made these writes durable: `{key: stored JSON}`,
    /// `deleted` (or None) for a removed key. Kept only while the partition is active.
    fn publish(
        &self,
        py: Python<'_>,
        partition: u32,
        writes: &Bound<'_, PyDict>,
        deleted: &Bound<'_, PyAny>,
    ) {
        let mut batch: Vec<(Box<str>, Option<Bytes>)> = Vec::with_capacity(writes.len());
        for (key, value) in writes.iter() {
            let Ok(key) = key.downcast::<PyBytes>() else {
                continue;
            };
            let Ok(key) = std::str::from_utf8(key.as_bytes()) else {
                continue;
            };
            // Anything but bytes (a deletion, an unexpected type) drops the key: the view answers it.
            let value = match value.downcast::<PyBytes>() {
                Ok(v) if !value.is(deleted) => Some(Bytes::copy_from_slice(v.as_bytes())),
                _ => None,
            };
            batch.push((key.into(), value));
        }
        let shared = &self.shared;
        py.allow_threads(|| {
            let mut state = shared.state_mut();
            if !state.active.contains(&partition) {
                return; // not ours (any more): the view decides
            }
            for (key, value) in batch {
                match value {
                    Some(stored)
                        if state.entries.len() < shared.max_entries
                            || state.entries.contains_key(&key) =>
                    {
                        state.entries.insert(key, Entry { partition, stored });
                    }
                    _ => {
                        state.entries.remove(&key);
                    }
                }
            }
        })
    }

    /// The worker is ready and actively owns `partitions`: answer their published keys.
    fn activate(&self, partitions: Vec<u32>) {
        let mut state = self.shared.state_mut();
        state.active = partitions.into_iter().collect();
        let State {
            active, entries, ..
        } = &mut *state;
        entries.retain(|_, entry| active.contains(&entry.partition));
        state.ready = true;
    }

    /// The partitions answered for (sorted), or None while not active.
    #[getter]
    fn active(&self) -> Option<Vec<u32>> {
        let state = self.shared.state();
        if !state.ready {
            return None;
        }
        let mut partitions: Vec<u32> = state.active.iter().copied().collect();
        partitions.sort_unstable();
        Some(partitions)
    }

    /// Not ready, or a rebalance began: forget everything, forward every request.
    fn deactivate(&self) {
        let mut state = self.shared.state_mut();
        state.ready = false;
        state.active.clear();
        state.entries.clear();
    }

    /// (answered here, forwarded to the worker's web server, budgets held)
    fn stats(&self) -> (u64, u64, usize) {
        let held = self.shared.state().entries.len();
        (
            self.shared.hits.load(Ordering::Relaxed),
            self.shared.forwarded.load(Ordering::Relaxed),
            held,
        )
    }

    /// The answers given here: (bucket upper bounds in seconds, cumulative counts per
    /// bound, total count, sum of their latencies in seconds), a Prometheus histogram.
    fn latency(&self) -> (Vec<f64>, Vec<u64>, u64, f64) {
        let mut cumulative = Vec::with_capacity(LATENCY_BOUNDS_US.len());
        let mut running = 0;
        for bucket in &self.shared.latency_buckets[..LATENCY_BOUNDS_US.len()] {
            running += bucket.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        let total =
            running + self.shared.latency_buckets[LATENCY_BOUNDS_US.len()].load(Ordering::Relaxed);
        let bounds = LATENCY_BOUNDS_US
            .iter()
            .map(|us| *us as f64 / 1e6)
            .collect();
        let sum = self.shared.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (bounds, cumulative, total, sum)
    }

    /// Stop listening; connections in progress are dropped.
    fn close(&mut self, py: Python<'_>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            py.allow_threads(|| {
                let _ = thread.join();
            });
        }
    }

    /// The body the front answers for `advertiser_id` holding `stored`, or None
    /// if it would leave that to the view (for tests against `public_view`).
    #[staticmethod]
    fn render<'py>(
        py: Python<'py>,
        advertiser_id: &str,
        stored: &[u8],
    ) -> Option<Bound<'py, PyBytes>> {
        render(advertiser_id, stored).map(|body| PyBytes::new(py, &body))
    }
}

impl Drop for QueryFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The lowest real-time priority, for the calling thread: it then runs as soon as a
/// request wakes it, ahead of every normal thread and process (the stream processing,
/// the broker), which on a busy machine otherwise makes it wait for a core. It
/// needs CAP_SYS_NICE (or an RLIMIT_RTPRIO); its work per request is microseconds,
/// and the kernel's real-time throttling keeps 5% of each core for the rest anyway.
fn go_realtime() -> Result<(), std::io::Error> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: plain system call on the calling thread (pid 0) with a valid parameter.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn render(advertiser_id: &str, stored: &[u8]) -> Option<Vec<u8>> {
    let budget: Budget = serde_json::from_slice(stored).ok()?;
    Some(public_budget_json(advertiser_id, &budget))
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    backend_port: u16,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(_) => return,
    };
    let backend: Backend = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue, // out of descriptors, a reset before accept: keep serving
            },
        };
        let _ = stream.set_nodelay(true);
        let (shared, backend) = (shared.clone(), backend.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                answer(request, shared.clone(), backend.clone(), backend_port)
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    backend: Backend,
    backend_port: u16,
) -> Result<Response<Body>, Infallible> {
    if !authorized(&request, &shared) {
        let reason = "missing or wrong bearer token (Authorization: Bearer <HTTP_AUTH_TOKEN>)";
        let mut response = error(StatusCode::UNAUTHORIZED, reason.into());
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    let started = Instant::now();
    if let Some(response) = from_committed(&request, &shared) {
        shared.hits.fetch_add(1, Ordering::Relaxed);
        let took = started.elapsed();
        let micros = took.as_micros() as u64;
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        shared.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        shared
            .latency_sum_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        return Ok(response);
    }
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    Ok(forward(request, backend, backend_port).await)
}

/// No token configured, an open path, or `Authorization: Bearer <token>` (the
/// scheme in any case); the token compared in constant time.
fn authorized<B>(request: &Request<B>, shared: &Shared) -> bool {
    let Some(token) = &shared.token else {
        return true;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return true;
    }
    let Some(value) = request.headers().get(AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    if value.len() < 7 || !value[..7].eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    value[7..].trim_ascii().ct_eq(token).into()
}

/// The budget from the committed values handed over, when the view would answer it
/// from the same: the plain route (the view decodes `%` escapes; those go on), no
/// query but `scope=local`, a ready worker that actively owns the key's partition.
fn from_committed(request: &Request<Incoming>, shared: &Shared) -> Option<Response<Body>> {
    if request.method() != Method::GET {
        return None;
    }
    let id = request
        .uri()
        .path()
        .strip_prefix("/advertisers/")?
        .strip_suffix("/budget")?;
    if id.is_empty() || id.contains(['/', '%']) {
        return None;
    }
    if !matches!(request.uri().query(), None | Some("") | Some("scope=local")) {
        return None;
    }
    let stored = {
        let state = shared.state();
        let entry = state.entries.get(id)?;
        if !state.ready || !state.active.contains(&entry.partition) {
            return None;
        }
        entry.stored.clone()
    };
    let body = render(id, &stored)?;
    let mut response = Response::new(full(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-served-by", HeaderValue::from_static("query-front"));
    Some(response)
}

async fn forward(
    mut request: Request<Incoming>,
    backend: Backend,
    backend_port: u16,
) -> Response<Body> {
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let uri: Uri = match format!("http://127.0.0.1:{backend_port}{target}").parse() {
        Ok(uri) => uri,
        Err(_) => return error(StatusCode::BAD_REQUEST, "malformed request target".into()),
    };
    *request.uri_mut() = uri;
    match backend.request(request).await {
        Ok(response) => response.map(|body| body.boxed()),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the worker's web server did not answer ({e}); retry shortly"),
        ),
    }
}

fn full(body: Vec<u8>) -> Body {
    Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed()
}

fn error(status: StatusCode, reason: String) -> Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({ "error": reason })).unwrap_or_default();
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(token: Option<&str>) -> Shared {
        Shared {
            state: RwLock::new(State::default()),
            max_entries: 0,
            hits: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            latency_buckets: Default::default(),
            latency_sum_ns: AtomicU64::new(0),
            token: token.map(|t| t.as_bytes().into()),
        }
    }

    fn request(path: &str, authorization: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().uri(path);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn a_token_is_required_except_on_the_open_paths() {
        let on = shared(Some("s3cret"));
        let budget = "/advertisers/a-1/budget";
        assert!(authorized(&request(budget, Some("Bearer s3cret")), &on));
        assert!(authorized(&request(budget, Some("bearer  s3cret ")), &on));
        assert!(!authorized(&request(budget, None), &on));
        assert!(!authorized(&request(budget, Some("Bearer s3cre")), &on));
        assert!(!authorized(&request(budget, Some("Bearer s3cret2")), &on));
        assert!(!authorized(&request(budget, Some("Basic s3cret")), &on));
        assert!(!authorized(&request("/stats", Some("s3cret")), &on));
        for open in OPEN_PATHS {
            assert!(authorized(&request(open, None), &on));
        }
        assert!(authorized(&request(budget, None), &shared(None)));
    }
}
