//! The budget arithmetic of `domain/budgets.py` (apply_click, apply_funding,
//! add_daily), and the JSON of what it writes, byte for byte as orjson spells it.
//! Integers are i64 with checked arithmetic: a sum that would not fit is an
//! error, and the caller runs the batch on the Python path instead.

use indexmap::IndexMap;
use serde::Deserialize;

pub const ACTIVE: &str = "active";
pub const EXHAUSTED: &str = "exhausted";

/// A stored budget, `Budget.to_dict()`; missing fields take the dataclass defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default)]
    pub balance: i64,
    #[serde(default)]
    pub spent: i64,
    #[serde(default)]
    pub funded: i64,
    #[serde(default)]
    pub charged: i64,
    #[serde(default)]
    pub rejected: i64,
    #[serde(default)]
    pub duplicates: i64,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default)]
    pub last_rejected_cpc: i64,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// One more per applied event or counted duplicate (`Budget.version`); 0 when stored before it.
    #[serde(default)]
    pub version: i64,
}

fn active() -> String {
    ACTIVE.to_owned()
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            balance: 0,
            spent: 0,
            funded: 0,
            charged: 0,
            rejected: 0,
            duplicates: 0,
            status: active(),
            last_rejected_cpc: 0,
            updated_at: None,
            version: 0,
        }
    }
}

/// One campaign's row of an advertiser-day's statistics.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DailyRow {
    pub charged: i64,
    pub spend: i64,
    pub rejected: i64,
}

pub type Daily = IndexMap<String, DailyRow>;

#[derive(Debug)]
pub struct Overflow;

pub type Result<T> = std::result::Result<T, Overflow>;

fn add(a: i64, b: i64) -> Result<i64> {
    a.checked_add(b).ok_or(Overflow)
}

fn sub(a: i64, b: i64) -> Result<i64> {
    a.checked_sub(b).ok_or(Overflow)
}

pub struct Click<'a> {
    pub advertiser_id: &'a str,
    pub click_id: &'a str,
    pub campaign_id: &'a str,
    pub cpc: i64,
    pub ts: &'a str,
}

pub struct Funding<'a> {
    pub advertiser_id: &'a str,
    pub event_id: &'a str,
    pub kind: &'a str, // top_up | adjust
    pub amount: i64,
    pub ts: &'a str,
}

/// The JSON records one event emits: a ledger entry and/or a status change.
#[derive(Default)]
pub struct Outcome {
    pub entry: Option<Vec<u8>>,
    pub change: Option<Vec<u8>>,
    pub rejection: Option<Vec<u8>>, // a rejected click's ledger entry (kind "rejected", amount 0)
}

// Unlike the Python functions these leave `updated_at` to the caller, which sets
// it once per batch to the last applied event's timestamp: the same value,
// without a string copy per event.

/// `apply_click`: charge the click if the balance covers it, else reject it.
pub fn apply_click(budget: &mut Budget, click: &Click) -> Result<Outcome> {
    budget.version = add(budget.version, 1)?;
    if budget.balance >= click.cpc {
        budget.balance = sub(budget.balance, click.cpc)?;
        budget.spent = add(budget.spent, click.cpc)?;
        budget.charged = add(budget.charged, 1)?;
        let entry = ledger_entry(
            click.advertiser_id,
            click.click_id,
            "click",
            -click.cpc,
            budget.balance,
            click.ts,
            Some(click.campaign_id),
        );
        return Ok(Outcome {
            entry: Some(entry),
            change: None,
            rejection: None,
        });
    }
    budget.rejected = add(budget.rejected, 1)?;
    budget.last_rejected_cpc = click.cpc;
    let mut outcome = Outcome {
        rejection: Some(ledger_entry(
            click.advertiser_id,
            click.click_id,
            "rejected",
            0,
            budget.balance,
            click.ts,
            Some(click.campaign_id),
        )),
        ..Outcome::default()
    };
    if budget.status == ACTIVE {
        budget.status = EXHAUSTED.to_owned();
        outcome.change = Some(status_change(
            click.advertiser_id,
            EXHAUSTED,
            budget.balance,
            click.click_id,
            click.ts,
        ));
    }
    Ok(outcome)
}

/// `apply_funding`: a top-up or an operator's signed adjustment.
pub fn apply_funding(budget: &mut Budget, event: &Funding) -> Result<Outcome> {
    budget.version = add(budget.version, 1)?;
    budget.balance = add(budget.balance, event.amount)?;
    budget.funded = add(budget.funded, event.amount)?;
    let entry = ledger_entry(
        event.advertiser_id,
        event.event_id,
        event.kind,
        event.amount,
        budget.balance,
        event.ts,
        None,
    );
    let mut outcome = Outcome {
        entry: Some(entry),
        change: None,
        rejection: None,
    };
    if budget.status == EXHAUSTED && budget.balance >= budget.last_rejected_cpc {
        budget.status = ACTIVE.to_owned();
        outcome.change = Some(status_change(
            event.advertiser_id,
            ACTIVE,
            budget.balance,
            event.event_id,
            event.ts,
        ));
    }
    Ok(outcome)
}

/// `add_daily`: fold one click into an advertiser-day's rows.
pub fn add_daily(daily: &mut Daily, campaign_id: &str, cpc: i64, charged: bool) -> Result<()> {
    let row = match daily.get_mut(campaign_id) {
        Some(row) => row,
        None => daily.entry(campaign_id.to_owned()).or_default(),
    };
    if charged {
        row.charged = add(row.charged, 1)?;
        row.spend = add(row.spend, cpc)?;
    } else {
        row.rejected = add(row.rejected, 1)?;
    }
    Ok(())
}

// --- JSON, as orjson writes these dicts and dataclasses (compact, fields in order) ---

/// A JSON string as orjson spells it: printable ASCII other than `"` and `\`
/// (nearly every id and timestamp) is copied as is; anything else goes through serde_json.
fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("a str always serializes");
    }
}

fn int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON value of the records and state written here.
pub enum Json<'a> {
    Str(&'a str),
    Int(i64),
    Null,
}

/// `{"name":value,...}`, compact, in the order given: orjson's spelling of a dict
/// or dataclass with these fields.
fn object(fields: &[(&str, Json)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 * fields.len());
    out.push(b'{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"'); // field names are plain identifiers
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match value {
            Json::Str(s) => string(&mut out, s),
            Json::Int(n) => int(&mut out, *n),
            Json::Null => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    out
}

/// `LedgerEntry`, as orjson serializes the dataclass.
pub fn ledger_entry(
    advertiser_id: &str,
    entry_id: &str,
    kind: &str,
    amount: i64,
    balance: i64,
    ts: &str,
    campaign_id: Option<&str>,
) -> Vec<u8> {
    object(&[
        ("advertiser_id", Json::Str(advertiser_id)),
        ("entry_id", Json::Str(entry_id)),
        ("kind", Json::Str(kind)),
        ("amount", Json::Int(amount)),
        ("balance_after", Json::Int(balance)),
        ("ts", Json::Str(ts)),
        ("campaign_id", campaign_id.map_or(Json::Null, Json::Str)),
    ])
}

/// `StatusChange`, as orjson serializes the dataclass.
pub fn status_change(
    advertiser_id: &str,
    status: &str,
    balance: i64,
    cause_id: &str,
    ts: &str,
) -> Vec<u8> {
    object(&[
        ("advertiser_id", Json::Str(advertiser_id)),
        ("status", Json::Str(status)),
        ("balance", Json::Int(balance)),
        ("cause_id", Json::Str(cause_id)),
        ("ts", Json::Str(ts)),
    ])
}

/// `Budget.to_dict()`'s fields, in its order.
fn budget_fields(b: &Budget) -> [(&'static str, Json<'_>); 10] {
    [
        ("balance", Json::Int(b.balance)),
        ("spent", Json::Int(b.spent)),
        ("funded", Json::Int(b.funded)),
        ("charged", Json::Int(b.charged)),
        ("rejected", Json::Int(b.rejected)),
        ("duplicates", Json::Int(b.duplicates)),
        ("status", Json::Str(&b.status)),
        ("last_rejected_cpc", Json::Int(b.last_rejected_cpc)),
        (
            "updated_at",
            b.updated_at.as_deref().map_or(Json::Null, Json::Str),
        ),
        ("version", Json::Int(b.version)),
    ]
}

/// `Budget.count_duplicate()`: a redelivered event is counted, and changes the value.
pub fn count_duplicate(budget: &mut Budget) -> Result<()> {
    budget.duplicates = add(budget.duplicates, 1)?;
    budget.version = add(budget.version, 1)?;
    Ok(())
}

/// `Budget.to_dict()`.
pub fn budget_json(b: &Budget) -> Vec<u8> {
    object(&budget_fields(b))
}

/// `domain.budgets.public_view(advertiser_id, budget)`: what GET
/// /advertisers/{id}/budget answers (the stored budget without `last_rejected_cpc`).
pub fn public_budget_json(advertiser_id: &str, b: &Budget) -> Vec<u8> {
    let mut fields = vec![("advertiser_id", Json::Str(advertiser_id))];
    fields.extend(
        budget_fields(b)
            .into_iter()
            .filter(|(name, _)| *name != "last_rejected_cpc"),
    );
    object(&fields)
}

pub fn daily_json(daily: &Daily) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * daily.len() + 2);
    out.push(b'{');
    for (i, (campaign, row)) in daily.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(&mut out, campaign);
        out.extend_from_slice(b":{\"charged\":");
        int(&mut out, row.charged);
        out.extend_from_slice(b",\"spend\":");
        int(&mut out, row.spend);
        out.extend_from_slice(b",\"rejected\":");
        int(&mut out, row.rejected);
        out.push(b'}');
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_integers_are_spelled_as_serde_json_spells_them() {
        let mut samples: Vec<String> = (0u8..0x80).map(|b| format!("a{}z", b as char)).collect();
        samples.extend(
            [
                "",
                "k-1-42",
                "광고주-é",
                "\u{2028}",
                "😀\"\\\n",
                "2026-11-24T15:00:00+00:00",
            ]
            .map(String::from),
        );
        for s in &samples {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for n in [0, 7, -7, 100_000, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            int(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
