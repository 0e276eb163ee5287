//! Canary merging: header and cookie canaries become variants of their base route, tried
//! immediately before it; weight canaries join the base route's destinations (Higress
//! `normalizeWeightedCluster`).

use config_store::annotations::Canary;
use regex::Regex;

use crate::route_table::conditions::{Conditions, Matcher};
use crate::upstream::Destination;

/// The condition a header or cookie canary adds. The canary replaces the base route's
/// header conditions (methods and query conditions stay), as Higress does.
pub(super) fn condition(canary: &Canary, base: Option<&Conditions>) -> Conditions {
    let mut c = base.cloned().unwrap_or_default();
    c.headers.clear();
    let header = match canary {
        Canary::Header { name, value_regex } => {
            let matcher = value_regex
                .as_deref()
                .and_then(|r| Regex::new(&format!("^(?:{r})$")).ok())
                .map_or_else(|| Matcher::Exact("always".into()), Matcher::Regex);
            (name.clone(), matcher)
        }
        Canary::Cookie { name } => {
            let re = Regex::new(&format!(
                r"^(?:.*?;\s*)?{}=always(?:;.*)?$",
                regex::escape(name)
            ));
            let matcher = re.map_or_else(|_| Matcher::Exact("never".into()), Matcher::Regex);
            ("cookie".into(), matcher)
        }
        Canary::Weight { .. } => return c,
    };
    c.headers.push(header);
    c
}

/// Where a route sorts within its host: its own precedence key (a variant takes its base
/// route's), then the base route's index, then `0` for a canary variant and `1` for the base
/// itself, so every variant sits directly in front of its base.
pub(super) type Position<K> = (K, usize, u8);

/// The [`Position`] of route `id`; `variant_of` names the base of a header or cookie canary.
///
/// Higress inserts such a canary just before its base and keeps it there with a stable sort,
/// so a canary whose condition replaces base header conditions (and so has no more of them
/// than the base) still wins over the base for requests carrying the canary header.
pub(super) fn position<K>(
    id: usize,
    variant_of: Option<usize>,
    key_of: impl Fn(usize) -> K,
) -> Position<K> {
    match variant_of {
        Some(base) => (key_of(base), base, 0),
        None => (key_of(id), id, 1),
    }
}

/// Adds weighted canary destinations: each canary gets `weight * 100 / total` percent, the
/// base destinations share the rest in their existing proportions.
pub(super) fn merge_weighted(
    base: &mut Vec<Destination>,
    canary: Vec<Destination>,
    weight: u32,
    total: u32,
) {
    let share = weight.saturating_mul(100) / total.max(1);
    let share = share.min(100);
    let existing_canary: u32 = base
        .iter()
        .skip_while(|d| !d.label.starts_with("canary:"))
        .map(|d| d.weight)
        .sum();
    let primary_total = 100u32.saturating_sub(share + existing_canary);
    let base_sum: u32 = base
        .iter()
        .filter(|d| !d.label.starts_with("canary:"))
        .map(|d| d.weight)
        .sum();
    let mut assigned = 0;
    let primaries = base
        .iter()
        .filter(|d| !d.label.starts_with("canary:"))
        .count();
    let mut seen = 0;
    for d in base.iter_mut().filter(|d| !d.label.starts_with("canary:")) {
        seen += 1;
        d.weight = if seen == primaries {
            primary_total - assigned
        } else {
            (d.weight * primary_total)
                .checked_div(base_sum)
                .unwrap_or(0)
        };
        assigned += d.weight;
    }
    let per = share.checked_div(canary.len() as u32).unwrap_or(0);
    for mut d in canary {
        d.weight = per;
        d.label = format!("canary:{}", d.label);
        base.push(d);
    }
}
