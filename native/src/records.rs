//! Kafka record batches (message format v2, uncompressed) built from whole lists
//! of records at once, for aiokafka's producer to send.
//!
//! aiokafka's `BatchBuilder.append` costs a Python call per record; the batch path
//! sends about three records per click (ledger, duplicate-filter changelog, and a
//! share of the budget and daily changelogs). `RecordBatch` has the methods
//! aiokafka's producer calls on a builder handed to `send_batch` (`record_count`,
//! `size`, `closed`, `_set_producer_state`, `_build`), and fills itself from a
//! Python list of (key, value) pairs in one call.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

const HEADER_SIZE: usize = 61;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const TRANSACTIONAL: i16 = 0x10;

fn varint(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64; // zigzag
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(b) => {
            varint(out, b.len() as i64);
            out.extend_from_slice(b);
        }
        None => varint(out, -1),
    }
}

/// A record batch for one topic partition, every record with the same timestamp
/// and headers. Closed to aiokafka's own appends: it is sent as it is.
#[pyclass(module = "budget_kernel")]
pub struct RecordBatch {
    buf: Vec<u8>,
    count: i32,
    max_bytes: usize,
    timestamp: i64,
    transactional: bool,
    headers: Vec<u8>, // the records' headers section, encoded once
    producer: (i64, i16, i32),
    built: Option<Py<PyBytes>>,
}

#[pymethods]
impl RecordBatch {
    /// ``headers`` is a list of (str, bytes) pairs given to every record.
    #[new]
    fn new(
        max_bytes: usize,
        timestamp_ms: i64,
        headers: &Bound<'_, PyList>,
        transactional: bool,
    ) -> PyResult<Self> {
        let mut encoded = Vec::new();
        varint(&mut encoded, headers.len() as i64);
        for item in headers.iter() {
            let (key, value): (String, Option<Vec<u8>>) = item.extract()?;
            bytes_field(&mut encoded, Some(key.as_bytes()));
            bytes_field(&mut encoded, value.as_deref());
        }
        let mut buf = Vec::with_capacity(max_bytes.min(1 << 20));
        buf.resize(HEADER_SIZE, 0);
        Ok(RecordBatch {
            buf,
            count: 0,
            max_bytes,
            timestamp: timestamp_ms,
            transactional,
            headers: encoded,
            producer: (-1, -1, -1),
            built: None,
        })
    }

    /// Append ``records[start:]``, (key, value) pairs of bytes or None, while they
    /// fit; returns the index of the first one left out (``len(records)``: all in).
    fn fill(&mut self, records: &Bound<'_, PyList>, start: usize) -> PyResult<usize> {
        if self.built.is_some() {
            return Ok(start);
        }
        let mut record = Vec::with_capacity(256);
        for i in start..records.len() {
            let item = records.get_item(i)?;
            let pair = item.downcast::<PyTuple>()?;
            let (key, value) = (pair.get_item(0)?, pair.get_item(1)?);
            let key = if key.is_none() {
                None
            } else {
                Some(key.downcast_into::<PyBytes>()?)
            };
            let value = if value.is_none() {
                None
            } else {
                Some(value.downcast_into::<PyBytes>()?)
            };
            record.clear();
            record.push(0); // attributes
            varint(&mut record, 0); // timestamp delta: one timestamp per batch
            varint(&mut record, self.count as i64); // offset delta
            bytes_field(&mut record, key.as_ref().map(|k| k.as_bytes()));
            bytes_field(&mut record, value.as_ref().map(|v| v.as_bytes()));
            record.extend_from_slice(&self.headers);
            let mut length = Vec::with_capacity(5);
            varint(&mut length, record.len() as i64);
            if self.count > 0 && self.buf.len() + length.len() + record.len() > self.max_bytes {
                return Ok(i);
            }
            self.buf.extend_from_slice(&length);
            self.buf.extend_from_slice(&record);
            self.count += 1;
        }
        Ok(records.len())
    }

    /// aiokafka's producer appends to an open builder of the same partition: never to this one.
    #[pyo3(signature = (*, timestamp, key, value, headers = None))]
    fn append(
        &self,
        timestamp: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> Option<PyObject> {
        let _ = (timestamp, key, value, headers);
        None
    }

    fn close(&self) {}

    fn closed(&self) -> bool {
        true
    }

    fn record_count(&self) -> i32 {
        self.count
    }

    fn size(&self) -> usize {
        self.buf.len()
    }

    fn _set_producer_state(&mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) {
        self.producer = (producer_id, producer_epoch, base_sequence);
        self.built = None; // a retry may bring a new sequence: build again
    }

    fn _build<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        if let Some(built) = &self.built {
            return built.bind(py).clone();
        }
        let (producer_id, producer_epoch, base_sequence) = self.producer;
        let attributes: i16 = if self.transactional { TRANSACTIONAL } else { 0 };
        let mut header = Vec::with_capacity(HEADER_SIZE);
        header.extend_from_slice(&0i64.to_be_bytes()); // base offset: the broker's
        header.extend_from_slice(&((self.buf.len() - 12) as i32).to_be_bytes());
        header.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
        header.push(2); // magic
        header.extend_from_slice(&0u32.to_be_bytes()); // crc, below
        header.extend_from_slice(&attributes.to_be_bytes());
        header.extend_from_slice(&(self.count - 1).max(0).to_be_bytes()); // last offset delta
        header.extend_from_slice(&self.timestamp.to_be_bytes()); // first timestamp
        header.extend_from_slice(&self.timestamp.to_be_bytes()); // max timestamp
        header.extend_from_slice(&producer_id.to_be_bytes());
        header.extend_from_slice(&producer_epoch.to_be_bytes());
        header.extend_from_slice(&base_sequence.to_be_bytes());
        header.extend_from_slice(&self.count.to_be_bytes());
        self.buf[..HEADER_SIZE].copy_from_slice(&header);
        let crc = crc32c::crc32c(&self.buf[ATTRIBUTES_OFFSET..]);
        self.buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        let built = PyBytes::new(py, &self.buf);
        self.built = Some(built.clone().unbind());
        built
    }

    fn __repr__(&self) -> String {
        format!(
            "RecordBatch(records={}, bytes={})",
            self.count,
            self.buf.len()
        )
    }
}
