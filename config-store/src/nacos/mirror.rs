//! [`Mirror`]: this process's copy of the resource configs in Nacos, each parsed once, fed
//! by listings, pushes and this process's own writes, and turned into the
//! [`SourceOutcome`]s [`crate::snapshot::assemble`] merges.
//!
//! A listing takes time: every push or own write bumps a generation, and a listing that
//! began before a change does not undo it (nor bring back a config this process deleted
//! meanwhile).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::nacos::crypto::{self, Cipher};
use crate::nacos::layout::{self, DataId};
use crate::parse::SourceContext;
use crate::snapshot::SourceOutcome;
use crate::store::version_of;

/// The resource configs known, by data id.
#[derive(Default)]
pub struct Mirror {
    generation: u64,
    entries: BTreeMap<String, Entry>,
    /// Data ids this process deleted, at which generation.
    deleted: BTreeMap<String, u64>,
    /// Data ids of the group Gantry skips, already logged.
    noticed: BTreeSet<String>,
}

struct Entry {
    raw: Arc<str>,
    /// 0 when it came from a listing.
    generation: u64,
    outcome: SourceOutcome,
}

/// What a listing changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Data ids now known that were not.
    pub added: Vec<String>,
    /// Data ids no longer there.
    pub removed: Vec<String>,
    /// Whether any content changed (added, removed or modified).
    pub changed: bool,
}

// === impl Mirror ===

impl Mirror {
    /// The current generation; pass it to [`Mirror::apply_listing`] for a listing started now.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether `data_id` is known.
    pub fn contains(&self, data_id: &str) -> bool {
        self.entries.contains_key(data_id)
    }

    /// Every known data id.
    pub fn data_ids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Replaces the content with a listing that began at generation `since`.
    pub fn apply_listing(
        &mut self,
        listing: impl IntoIterator<Item = (String, String)>,
        since: u64,
        cipher: Option<&Cipher>,
    ) -> Changes {
        let mut listed = BTreeMap::new();
        for (data_id, content) in listing {
            match layout::parse(&data_id) {
                DataId::Resource(..) => {
                    listed.insert(data_id, content);
                }
                DataId::Ignored => {}
                DataId::Unknown => {
                    if self.noticed.insert(data_id.clone()) {
                        tracing::warn!(
                            data_id,
                            group = layout::GROUP,
                            "Nacos config is not `<plural>.<name>` of a kind Gantry reads; skipped"
                        );
                    }
                }
            }
        }
        let mut changes = Changes::default();
        let gone: Vec<String> = self
            .entries
            .iter()
            .filter(|(id, e)| e.generation <= since && !listed.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.entries.remove(&id);
            changes.removed.push(id);
        }
        for (id, content) in listed {
            if self.deleted.get(&id).is_some_and(|g| *g > since) {
                continue;
            }
            match self.entries.get(&id) {
                Some(e) if e.generation > since || *e.raw == *content => continue,
                Some(_) => {}
                None => changes.added.push(id.clone()),
            }
            let entry = Entry::new(&id, content.into(), 0, cipher);
            self.entries.insert(id, entry);
            changes.changed = true;
        }
        self.deleted.retain(|_, g| *g > since);
        changes.changed |= !changes.removed.is_empty();
        changes
    }

    /// Records content this process wrote, or a listing of one config; true if it changed.
    pub fn set(&mut self, data_id: &str, raw: &str, cipher: Option<&Cipher>) -> bool {
        if !matches!(layout::parse(data_id), DataId::Resource(..)) {
            return false;
        }
        self.generation += 1;
        self.deleted.remove(data_id);
        let unchanged = self.entries.get(data_id).is_some_and(|e| *e.raw == *raw);
        let entry = Entry::new(data_id, raw.into(), self.generation, cipher);
        self.entries.insert(data_id.to_string(), entry);
        !unchanged
    }

    /// Records content Nacos pushed for a known config; true if it changed. A push for a
    /// config not known (deleted, or not listed yet) waits for the next listing.
    pub fn push(&mut self, data_id: &str, raw: &str, cipher: Option<&Cipher>) -> bool {
        match self.entries.get(data_id) {
            Some(e) if *e.raw != *raw => self.set(data_id, raw, cipher),
            _ => false,
        }
    }

    /// Records that this process deleted `data_id`; true if it was known.
    pub fn remove(&mut self, data_id: &str) -> bool {
        self.generation += 1;
        self.deleted.insert(data_id.to_string(), self.generation);
        self.entries.remove(data_id).is_some()
    }

    /// The outcome of every known config, for [`crate::snapshot::assemble`].
    pub fn outcomes(&self) -> Vec<SourceOutcome> {
        self.entries.values().map(|e| e.outcome.clone()).collect()
    }
}

// === impl Entry ===

impl Entry {
    fn new(data_id: &str, raw: Arc<str>, generation: u64, cipher: Option<&Cipher>) -> Self {
        let outcome = outcome(data_id, &raw, cipher);
        Self {
            raw,
            generation,
            outcome,
        }
    }
}

/// Decrypts and parses one config. A config that cannot be decrypted is a broken source:
/// its resource keeps its last good version, and the error names the data id, never the
/// content.
pub fn outcome(data_id: &str, raw: &str, cipher: Option<&Cipher>) -> SourceOutcome {
    let version: Arc<str> = version_of(raw.as_bytes()).into();
    let (kind, name) = match layout::parse(data_id) {
        DataId::Resource(kind, name) => (kind, name),
        _ => (ResourceKind::ConfigMap, String::new()),
    };
    match crypto::open(raw, cipher) {
        Ok(text) => {
            let ctx = SourceContext {
                label: data_id,
                dir_kind: Some(kind),
                default_name: Some(&name),
            };
            SourceOutcome::parse(data_id.to_string(), text.into(), ctx).with_version(version)
        }
        Err(e) => {
            let d = Diagnostic::source_error(data_id, e.to_string()).with_resource(kind, name);
            SourceOutcome::new(data_id.to_string(), "".into(), Err(d)).with_version(version)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress(host: &str) -> String {
        format!("kind: Ingress\nspec:\n  rules:\n  - host: {host}\n")
    }

    fn listing(items: &[(&str, String)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(id, c)| (id.to_string(), c.clone()))
            .collect()
    }

    #[test]
    fn a_slow_listing_does_not_undo_newer_changes() {
        let mut m = Mirror::default();
        let ch = m.apply_listing(
            listing(&[
                ("ingresses.a", ingress("a.com")),
                ("ingresses.b", ingress("b.com")),
                ("ingressclasses.higress", "x".into()),
            ]),
            m.generation(),
            None,
        );
        assert_eq!(ch.added, ["ingresses.a", "ingresses.b"]);
        assert!(ch.changed);
        let since = m.generation();
        // While a listing runs: a push changes a, this process deletes b, creates c.
        assert!(m.push("ingresses.a", &ingress("a2.com"), None));
        assert!(m.remove("ingresses.b"));
        assert!(m.set("ingresses.c", &ingress("c.com"), None));
        assert!(
            !m.push("ingresses.zzz", &ingress("z.com"), None),
            "unknown: wait for a listing"
        );
        let stale = listing(&[
            ("ingresses.a", ingress("a.com")),
            ("ingresses.b", ingress("b.com")),
        ]);
        let ch = m.apply_listing(stale, since, None);
        assert_eq!(ch, Changes::default());
        assert_eq!(
            m.data_ids().collect::<Vec<_>>(),
            ["ingresses.a", "ingresses.c"]
        );
        // A listing begun after those changes is the truth.
        let fresh = listing(&[("ingresses.c", ingress("c.com"))]);
        let ch = m.apply_listing(fresh, m.generation(), None);
        assert_eq!(ch.removed, ["ingresses.a"]);
        assert!(ch.changed);
        assert_eq!(m.outcomes().len(), 1);
    }

    #[test]
    fn undecryptable_content_is_a_broken_source_naming_the_data_id() {
        let o = outcome("secrets.tls", "enc|AAAA", None);
        let d = o.parsed.unwrap_err();
        assert_eq!(d.source, "secrets.tls");
        assert!(
            d.message.contains("no data encryption key"),
            "{}",
            d.message
        );
        assert_eq!(&*o.version, version_of(b"enc|AAAA"));
    }
}
