//! `budget_kernel`: the per-event work of the CPC budget handler (agents/budgets.py)
//! in Rust, one partition batch at a time. Python keeps the Kafka, the state
//! store and every decision about records this kernel does not plainly accept:
//!
//! 1. `parse(records, clicks_topic, dedup_window, clicks_time, funding_time)` reads the plainly valid clicks
//!    (the shape `domain.budgets._plain_click` accepts, keyed by their advertiser);
//!    every other record's index is in `run.pending`, for Python to parse and
//!    `resolve_click`/`resolve_funding`, or dead-letter (an unresolved record is skipped);
//! 2. `run.keys()` names the state the batch reads: duplicate-filter keys,
//!    advertisers, advertiser-days;
//! 3. `run.apply(seen, budgets, daily)` takes their stored JSON (or None), applies
//!    the events in order exactly as the Python handler does, and returns the
//!    ledger and status records and the JSON of every key to write.
//!
//! JSON parsing and the arithmetic run with the GIL released, so the worker's
//! event loop and fetch thread run beside them. Any integer that does not fit
//! in 64 bits raises OverflowError: the handler then runs the batch in Python.

mod budget;
mod front;
mod records;
mod timestamp;

use budget::{Budget, Daily};
use indexmap::IndexSet;
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

// Rust's allocations of this module (a batch's many small strings): mimalloc
// frees and reuses them several times faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ID_MAX: usize = 200; // characters, as domain.budgets.ID_MAX

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainClick<'a> {
    #[serde(borrow)]
    click_id: Cow<'a, str>,
    #[serde(borrow)]
    advertiser_id: Cow<'a, str>,
    #[serde(borrow)]
    campaign_id: Cow<'a, str>,
    cpc: i64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
}

enum Body {
    Click {
        campaign_id: String,
        cpc: i64,
        day: Arc<str>,
    },
    Funding {
        kind: String,
        amount: i64,
    },
}

struct Event {
    advertiser_id: String,
    id: String,   // click_id or event_id
    ts: Arc<str>, // isoformat, as the ledger writes it (shared: clicks share timestamps)
    body: Body,
}

impl Event {
    fn seen_key(&self) -> String {
        let prefix = match self.body {
            Body::Click { .. } => "click:",
            Body::Funding { .. } => "budget:",
        };
        let mut key = String::with_capacity(prefix.len() + self.id.len());
        key.push_str(prefix);
        key.push_str(&self.id);
        key
    }
}

struct Slot {
    key: PyObject,
    seen_at: i64, // its partition's stream time including it, in seconds (floored)
    is_click: bool,
    event: Option<Event>,
    state: StateAt, // filled in by keys()
}

/// Where an event's state is in the key lists of keys(): no hashing in apply().
#[derive(Clone, Copy, Default)]
struct StateAt {
    seen: usize,
    budget: usize,
    daily: usize, // clicks only
}

type Stamps = HashMap<String, (Arc<str>, Arc<str>)>;

fn id_ok(s: &str) -> bool {
    !s.is_empty() && (s.len() <= ID_MAX || s.chars().count() <= ID_MAX)
}

/// The click in `value` if it is plainly valid and keyed by its advertiser.
/// `stamps` remembers this batch's timestamps by spelling (clicks share them).
fn plain_click(key: Option<&[u8]>, value: &[u8], stamps: &mut Stamps) -> Option<Event> {
    let c: PlainClick = serde_json::from_slice(value).ok()?;
    if c.cpc <= 0 || !id_ok(&c.click_id) || !id_ok(&c.advertiser_id) || !id_ok(&c.campaign_id) {
        return None;
    }
    if key != Some(c.advertiser_id.as_bytes()) {
        return None; // Python says why (key_mismatch)
    }
    let (ts, day) = match stamps.get(c.ts.as_ref()) {
        Some((ts, day)) => (ts.clone(), day.clone()),
        None => {
            let stamp = timestamp::parse(&c.ts)?;
            let parsed: (Arc<str>, Arc<str>) = (stamp.text.into(), stamp.day.into());
            stamps.insert(c.ts.into_owned(), parsed.clone());
            parsed
        }
    };
    Some(Event {
        advertiser_id: c.advertiser_id.into_owned(),
        id: c.click_id.into_owned(),
        ts,
        body: Body::Click {
            campaign_id: c.campaign_id.into_owned(),
            cpc: c.cpc,
            day,
        },
    })
}

#[pyclass(module = "budget_kernel")]
struct BudgetRun {
    stream_times: [Option<i64>; 2], // (clicks, funding) after the batch, ms
    window: i64,
    slots: Vec<Slot>,
    seen_keys: Keys,
    advertisers: Keys,
    daily_keys: Keys,
    py_keys: [Vec<Py<PyBytes>>; 3], // the three lists above as Python bytes, made once
}

/// Read one partition batch's records (anything with topic, key, value and a
/// millisecond timestamp, in processing order). `clicks_time` and `funding_time`
/// are the stream times (ms) of the two source partitions before the batch
/// (None: no record yet): an event's duplicate check uses its partition's
/// stream time including itself (domain/dedup.py, the rule's one definition).
#[pyfunction]
#[pyo3(signature = (records, clicks_topic, dedup_window, clicks_time = None, funding_time = None))]
fn parse(
    py: Python<'_>,
    records: &Bound<'_, PyAny>,
    clicks_topic: &str,
    dedup_window: i64,
    clicks_time: Option<i64>,
    funding_time: Option<i64>,
) -> PyResult<BudgetRun> {
    let mut times = [clicks_time, funding_time];
    let mut slots = Vec::new();
    let mut clicks: Vec<(usize, Option<Bound<'_, PyBytes>>, Bound<'_, PyBytes>)> = Vec::new();
    for (i, record) in records.try_iter()?.enumerate() {
        let record = record?;
        let topic = record.getattr(pyo3::intern!(py, "topic"))?;
        let is_click = topic.downcast::<PyString>()?.to_str()? == clicks_topic;
        let key = record.getattr(pyo3::intern!(py, "key"))?;
        let timestamp: i64 = record.getattr(pyo3::intern!(py, "timestamp"))?.extract()?;
        if is_click {
            let value = record.getattr(pyo3::intern!(py, "value"))?;
            if let Ok(value) = value.downcast_into::<PyBytes>() {
                let key_bytes = key.downcast::<PyBytes>().ok().cloned();
                clicks.push((i, key_bytes, value));
            }
        }
        let time = &mut times[usize::from(!is_click)];
        let now = time.map_or(timestamp, |t| t.max(timestamp));
        *time = Some(now);
        let seen_at = now.div_euclid(1000);
        slots.push(Slot {
            key: key.unbind(),
            seen_at,
            is_click,
            event: None,
            state: StateAt::default(),
        });
    }
    // Borrowed, not copied: bytes objects are immutable, and `clicks` keeps them alive.
    let views: Vec<(usize, Option<&[u8]>, &[u8])> = clicks
        .iter()
        .map(|(i, key, value)| (*i, key.as_ref().map(|k| k.as_bytes()), value.as_bytes()))
        .collect();
    let parsed: Vec<(usize, Option<Event>)> = py.allow_threads(|| {
        let mut stamps = Stamps::default();
        views
            .into_iter()
            .map(|(i, key, value)| (i, plain_click(key, value, &mut stamps)))
            .collect()
    });
    for (i, event) in parsed {
        slots[i].event = event;
    }
    Ok(BudgetRun {
        stream_times: times,
        window: dedup_window,
        slots,
        seen_keys: Keys::default(),
        advertisers: Keys::default(),
        daily_keys: Keys::default(),
        py_keys: Default::default(),
    })
}

/// Keys in order of first use; a key's position is its index in keys()'s lists.
type Keys = IndexSet<String, FxBuildHasher>;

#[pymethods]
impl BudgetRun {
    /// (clicks, funding) stream times in ms after the batch's records (None: none yet).
    #[getter]
    fn stream_times(&self) -> (Option<i64>, Option<i64>) {
        (self.stream_times[0], self.stream_times[1])
    }

    /// Indices of the records Python has to parse (funding events, and clicks
    /// that are not plainly valid): each is then resolved, or dead-lettered by Python.
    #[getter]
    fn pending(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.event.is_none())
            .map(|(i, _)| i)
            .collect()
    }

    #[pyo3(signature = (index, click_id, advertiser_id, campaign_id, cpc, ts, day))]
    #[allow(clippy::too_many_arguments)]
    fn resolve_click(
        &mut self,
        index: usize,
        click_id: String,
        advertiser_id: String,
        campaign_id: String,
        cpc: i64,
        ts: String,
        day: String,
    ) -> PyResult<()> {
        let slot = self.slot(index, true)?;
        slot.event = Some(Event {
            advertiser_id,
            id: click_id,
            ts: ts.into(),
            body: Body::Click {
                campaign_id,
                cpc,
                day: day.into(),
            },
        });
        Ok(())
    }

    fn resolve_funding(
        &mut self,
        index: usize,
        event_id: String,
        advertiser_id: String,
        kind: String,
        amount: i64,
        ts: String,
    ) -> PyResult<()> {
        let slot = self.slot(index, false)?;
        slot.event = Some(Event {
            advertiser_id,
            id: event_id,
            ts: ts.into(),
            body: Body::Funding { kind, amount },
        });
        Ok(())
    }

    /// (duplicate-filter keys, advertisers, advertiser-day keys) the batch reads,
    /// each once, in order of first use, as UTF-8 bytes (the store's keys).
    #[allow(clippy::type_complexity)]
    fn keys<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Bound<'py, PyList>)> {
        self.seen_keys.clear();
        self.advertisers.clear();
        self.daily_keys.clear();
        for slot in self.slots.iter_mut() {
            let Some(event) = &slot.event else { continue };
            slot.state.seen = self.seen_keys.insert_full(event.seen_key()).0;
            slot.state.budget = match self.advertisers.get_index_of(event.advertiser_id.as_str()) {
                Some(at) => at,
                None => self.advertisers.insert_full(event.advertiser_id.clone()).0,
            };
            if let Body::Click { day, .. } = &event.body {
                let mut key = String::with_capacity(event.advertiser_id.len() + 1 + day.len());
                key.push_str(&event.advertiser_id);
                key.push('|');
                key.push_str(day);
                slot.state.daily = self.daily_keys.insert_full(key).0;
            }
        }
        let to_py = |keys: &Keys| -> Vec<Py<PyBytes>> {
            keys.iter()
                .map(|k| PyBytes::new(py, k.as_bytes()).unbind())
                .collect()
        };
        self.py_keys = [
            to_py(&self.seen_keys),
            to_py(&self.advertisers),
            to_py(&self.daily_keys),
        ];
        let [seen, advertisers, daily] = &self.py_keys;
        let list = |keys: &Vec<Py<PyBytes>>| PyList::new(py, keys.iter().map(|k| k.bind(py)));
        Ok((list(seen)?, list(advertisers)?, list(daily)?))
    }

    /// Apply the events, given the stored JSON (or None) of each key of ``keys()``
    /// in its order. Returns (ledger, status, seen writes, budget writes, daily
    /// writes, (clicks processed, click duplicates, funding processed, funding
    /// duplicates)); records are (key, value) pairs, writes {key: JSON}.
    #[allow(clippy::type_complexity)]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        seen: Vec<Option<Bound<'py, PyBytes>>>,
        budgets: Vec<Option<Bound<'py, PyBytes>>>,
        daily: Vec<Option<Bound<'py, PyBytes>>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if seen.len() != self.seen_keys.len()
            || budgets.len() != self.advertisers.len()
            || daily.len() != self.daily_keys.len()
        {
            return Err(PyValueError::new_err(
                "apply() needs one stored value per key of keys(), in order",
            ));
        }
        // Borrowed for the work without the GIL: bytes objects are immutable, and
        // the argument lists keep them alive.
        fn views<'a>(values: &'a [Option<Bound<'_, PyBytes>>]) -> Vec<Option<&'a [u8]>> {
            values
                .iter()
                .map(|v| v.as_ref().map(|b| b.as_bytes()))
                .collect()
        }
        let (seen, budgets, daily) = (views(&seen), views(&budgets), views(&daily));
        let result = py.allow_threads(|| self.compute(&seen, &budgets, &daily))?;
        let pairs = |records: &[(usize, Vec<u8>)]| -> PyResult<Bound<'py, PyList>> {
            let items = records
                .iter()
                .map(|(i, value)| (self.slots[*i].key.clone_ref(py), PyBytes::new(py, value)));
            PyList::new(py, items)
        };
        let [seen_keys, advertisers, daily_keys] = &self.py_keys;
        let writes =
            |keys: &[Py<PyBytes>], values: &[Option<Vec<u8>>]| -> PyResult<Bound<'py, PyDict>> {
                let out = PyDict::new(py);
                for (key, value) in keys.iter().zip(values) {
                    if let Some(value) = value {
                        out.set_item(key.bind(py), PyBytes::new(py, value))?;
                    }
                }
                Ok(out)
            };
        let seen_writes = PyDict::new(py);
        for (at, seen_at) in &result.applied {
            seen_writes.set_item(
                seen_keys[*at].bind(py),
                PyBytes::new(py, itoa::Buffer::new().format(*seen_at).as_bytes()),
            )?;
        }
        let items: [Bound<'py, PyAny>; 6] = [
            pairs(&result.ledger)?.into_any(),
            pairs(&result.status)?.into_any(),
            seen_writes.into_any(),
            writes(advertisers, &result.budgets)?.into_any(),
            writes(daily_keys, &result.daily)?.into_any(),
            result.counts.into_pyobject(py)?.into_any(),
        ];
        PyTuple::new(py, items)
    }
}

struct Computed {
    ledger: Vec<(usize, Vec<u8>)>,
    status: Vec<(usize, Vec<u8>)>,
    applied: Vec<(usize, i64)>, // (position in seen_keys, first seen)
    budgets: Vec<Option<Vec<u8>>>,
    daily: Vec<Option<Vec<u8>>>,
    counts: (i64, i64, i64, i64),
}

fn bad_state(what: &str, key: &str) -> PyErr {
    PyValueError::new_err(format!(
        "stored {what} for {key:?} is not what the handler writes"
    ))
}

fn overflow(_: budget::Overflow) -> PyErr {
    PyOverflowError::new_err("a budget figure does not fit in 64 bits")
}

impl BudgetRun {
    fn slot(&mut self, index: usize, click: bool) -> PyResult<&mut Slot> {
        let slot = self
            .slots
            .get_mut(index)
            .ok_or_else(|| PyIndexError::new_err(index))?;
        if slot.is_click != click {
            return Err(PyValueError::new_err(format!(
                "record {index} is not a {}",
                if click { "click" } else { "funding event" }
            )));
        }
        Ok(slot)
    }

    /// The Python handler's loop (agents/budgets.py, `_apply_in_python`), event for event.
    fn compute(
        &self,
        seen: &[Option<&[u8]>],
        stored_budgets: &[Option<&[u8]>],
        stored_daily: &[Option<&[u8]>],
    ) -> PyResult<Computed> {
        let mut first_seen: Vec<Option<i64>> = Vec::with_capacity(seen.len());
        for (key, raw) in self.seen_keys.iter().zip(seen) {
            first_seen.push(match raw {
                Some(raw) => Some(
                    serde_json::from_slice::<i64>(raw)
                        .map_err(|_| bad_state("duplicate-filter entry", key))?,
                ),
                None => None,
            });
        }
        let mut budgets: Vec<Budget> = Vec::with_capacity(self.advertisers.len());
        for (advertiser, raw) in self.advertisers.iter().zip(stored_budgets) {
            budgets.push(match raw {
                Some(raw) => {
                    serde_json::from_slice(raw).map_err(|_| bad_state("budget", advertiser))?
                }
                None => Budget::default(),
            });
        }
        // The last applied event of each budget: its updated_at, set once at the end.
        let mut last_applied: Vec<Option<&Arc<str>>> = vec![None; budgets.len()];
        let mut daily: Vec<Option<Daily>> = (0..self.daily_keys.len()).map(|_| None).collect();
        let mut out = Computed {
            ledger: Vec::new(),
            status: Vec::new(),
            applied: Vec::new(),
            budgets: Vec::new(),
            daily: Vec::new(),
            counts: (0, 0, 0, 0),
        };
        for (index, slot) in self.slots.iter().enumerate() {
            let Some(event) = &slot.event else { continue };
            let at = slot.state;
            let budget = &mut budgets[at.budget];
            let is_click = matches!(event.body, Body::Click { .. });
            if let Some(first) = first_seen[at.seen] {
                if slot
                    .seen_at
                    .checked_sub(first)
                    .ok_or(budget::Overflow)
                    .map_err(overflow)?
                    <= self.window
                {
                    budget::count_duplicate(budget).map_err(overflow)?;
                    if is_click {
                        out.counts.1 += 1
                    } else {
                        out.counts.3 += 1
                    }
                    continue;
                }
            }
            first_seen[at.seen] = Some(slot.seen_at);
            out.applied.push((at.seen, slot.seen_at));
            last_applied[at.budget] = Some(&event.ts);
            let outcome = match &event.body {
                Body::Click {
                    campaign_id, cpc, ..
                } => {
                    let click = budget::Click {
                        advertiser_id: &event.advertiser_id,
                        click_id: &event.id,
                        campaign_id,
                        cpc: *cpc,
                        ts: &event.ts,
                    };
                    let outcome = budget::apply_click(budget, &click).map_err(overflow)?;
                    if daily[at.daily].is_none() {
                        daily[at.daily] = Some(match &stored_daily[at.daily] {
                            Some(raw) => serde_json::from_slice(raw).map_err(|_| {
                                bad_state("daily statistics", &self.daily_keys[at.daily])
                            })?,
                            None => Daily::new(),
                        });
                    }
                    let rows = daily[at.daily].as_mut().expect("loaded above");
                    budget::add_daily(rows, campaign_id, *cpc, outcome.entry.is_some())
                        .map_err(overflow)?;
                    outcome
                }
                Body::Funding { kind, amount } => {
                    let funding = budget::Funding {
                        advertiser_id: &event.advertiser_id,
                        event_id: &event.id,
                        kind,
                        amount: *amount,
                        ts: &event.ts,
                    };
                    budget::apply_funding(budget, &funding).map_err(overflow)?
                }
            };
            if let Some(entry) = outcome.entry.or(outcome.rejection) {
                out.ledger.push((index, entry));
            }
            if let Some(change) = outcome.change {
                out.status.push((index, change));
            }
            if is_click {
                out.counts.0 += 1
            } else {
                out.counts.2 += 1
            }
        }
        for (budget, ts) in budgets.iter_mut().zip(last_applied) {
            if let Some(ts) = ts {
                budget.updated_at = Some(ts.to_string());
            }
        }
        // An applied key may repeat (a duplicate past the window): the last value wins, as in a dict.
        out.budgets = budgets
            .iter()
            .map(|b| Some(budget::budget_json(b)))
            .collect();
        out.daily = daily
            .iter()
            .map(|d| d.as_ref().map(budget::daily_json))
            .collect();
        Ok(out)
    }
}

#[pymodule]
fn budget_kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_class::<BudgetRun>()?;
    m.add_class::<records::RecordBatch>()?;
    m.add_class::<front::QueryFront>()?;
    m.add("ID_MAX", ID_MAX)?;
    Ok(())
}
